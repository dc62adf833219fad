import Synchronization
import SystemPackage

/// Bytes that several address spaces may hold together (all the spaces of one uid): charged
/// when a folio is allocated, credited when it is freed. Past the limit, EDQUOT.
public final class ByteQuota: Sendable {
    /// The most bytes the spaces may hold together.
    public let limit: Int
    private let held = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held now.
    public var heldBytes: Int { held.load(ordering: .relaxed) }

    /// Takes `bytes` from the quota, or EDQUOT (taking nothing) when they do not fit.
    func charge(_ bytes: Int) throws(Errno) {
        var current = held.load(ordering: .relaxed)
        while true {
            guard bytes <= limit - current else { throw .diskQuotaExceeded }
            let (exchanged, actual) = held.compareExchange(expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return }
            current = actual
        }
    }

    /// Gives back what `charge` took.
    func credit(_ bytes: Int) {
        held.subtract(bytes, ordering: .relaxed)
    }
}
