import Synchronization
import SystemPackage

/// A tier's capacity, shared by every address space: folios are charged here when allocated
/// and credited when freed, so `free_bytes` is the tier's, not one client's.
public final class Tier: Sendable {
    /// What the config asked for.
    public let spec: TierSpec
    /// Its index in the tier list (the `tier` byte of a folio entry).
    public let index: Int
    private let budget: ByteBudget
    private let perOrder = Mutex([Int](repeating: 0, count: FolioTableLayout.maxOrder + 1))

    public init(spec: TierSpec, index: Int) {
        self.spec = spec
        self.index = index
        budget = ByteBudget(limit: spec.sizeBytes)
    }

    /// Bytes not charged to any folio.
    public var freeBytes: Int { budget.freeBytes }

    /// Allocated folios of each order, 0–9.
    public var foliosPerOrder: [Int] { perOrder.withLock { $0 } }

    /// Charges `count` folios of `order`; ENOMEM when the tier cannot hold them.
    func charge(order: Int, count: Int) throws(Errno) {
        guard budget.charge(FolioTableLayout.bytes(order: order) * count) else { throw .noMemory }
        perOrder.withLock { $0[order] += count }
    }

    /// Credits what `charge` took.
    func credit(order: Int, count: Int) {
        budget.credit(FolioTableLayout.bytes(order: order) * count)
        perOrder.withLock { $0[order] -= count }
    }
}
