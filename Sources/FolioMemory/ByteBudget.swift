import Synchronization

/// Bytes that may be held at most `limit` at once, charged and credited without a lock: a
/// tier's capacity shared by every address space, and one uid's bytes across its spaces. The
/// caller answers a refused charge with its own errno (ENOMEM for a tier, EDQUOT for a uid).
public final class ByteBudget: Sendable {
    /// The most bytes held at once.
    public let limit: Int
    private let held = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held now.
    public var heldBytes: Int { held.load(ordering: .relaxed) }

    /// Bytes that can still be charged.
    public var freeBytes: Int { limit - heldBytes }

    /// Takes `bytes`, or returns false (taking nothing) when they do not fit.
    func charge(_ bytes: Int) -> Bool {
        var current = held.load(ordering: .relaxed)
        while true {
            guard bytes <= limit - current else { return false }
            let (exchanged, actual) = held.compareExchange(expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = actual
        }
    }

    /// Takes `bytes` even past the limit: what a restarted daemon finds already held (data is
    /// never dropped for a quota; new charges fail until enough is credited).
    func force(_ bytes: Int) {
        held.add(bytes, ordering: .relaxed)
    }

    /// Gives back what `charge` took.
    func credit(_ bytes: Int) {
        held.subtract(bytes, ordering: .relaxed)
    }
}
