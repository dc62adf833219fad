import FolioSharedMemory
import Synchronization
import SystemPackage

/// A tier's capacity, shared by every address space: folios are charged here when allocated
/// and credited when freed, so `free_bytes` is the tier's, not one client's.
public final class Tier: Sendable {
    /// What the config asked for.
    public let spec: TierSpec
    /// Its index in the tier list (the `tier` byte of a folio entry).
    public let index: Int
    /// Where the tiering policy demotes from and to.
    public let watermarks: Watermarks
    /// Promoted folios' old copies kept here (see `ShadowPool`).
    public let shadows = ShadowPool()
    private let budget: ByteBudget
    private let hot = Atomic<Int>(0)
    private let perOrder = Mutex([Int](repeating: 0, count: FolioTableLayout.maxOrder + 1))

    public init(spec: TierSpec, index: Int) {
        self.spec = spec
        self.index = index
        budget = ByteBudget(limit: spec.sizeBytes)
        watermarks = Watermarks(tierBytes: spec.sizeBytes)
    }

    /// Bytes of folios here whose heat passed the tiering policy's threshold at its last
    /// aggregation (0 while the policy is off).
    public var hotBytes: Int {
        get { hot.load(ordering: .relaxed) }
        set { hot.store(newValue, ordering: .relaxed) }
    }

    /// Bytes not charged to any folio or shadow.
    public var freeBytes: Int { budget.freeBytes }

    /// Bytes an allocation can have: the free ones and the shadows', which it reclaims first.
    /// What the watermarks are compared with.
    public var availableBytes: Int { budget.freeBytes + shadows.bytes }

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
