import FolioMemory
import FolioSharedMemory
import Migration
import Synchronization
import SystemCalls
import SystemPackage

/// foliod's own placement policy, after the kernel's memory tiering: reclaim demotes the coldest
/// folios of a tier that runs short of free bytes (kswapd between the `low` and `high`
/// watermarks, direct reclaim in an allocation that would pass `min`), and NUMA balancing's
/// tiering mode promotes hot folios, rate limited. Heat comes from the pins themselves (each
/// pin adds one to its folio's `accesses`; see `AddressSpace.age`), not from sampling.
///
/// Every move is a migration request of reason `demotion` or `promotion` through the same
/// pipeline and migrator slot as a client's, so it obeys `migration/reason_mask`, and a folio a
/// client holds pinned is backed off from and left where it is, as the unmap passes do.
///
/// Threads: one OS thread (`foliod-tiering`) ages heat and demotes and promotes in the
/// background; an allocation demotes in its own session thread when it must. `passes`
/// serializes them, so two never pick the same folios. Lock order: `passes`, then a space's.
public final class TieringPolicy: Sendable {
    /// The background thread's schedule and the promotion window; held by every pass.
    struct PassState {
        var window: PromotionWindow
        var nextAggregation: ContinuousClock.Instant
        var nextScan: ContinuousClock.Instant
    }

    /// `tiering/enabled`: off by default, so explicit requests behave as they always did.
    public var enabled: Bool {
        get { isEnabled.load(ordering: .relaxed) }
        set {
            isEnabled.store(newValue, ordering: .relaxed)
            if !newValue { tiers.forEach { $0.hotBytes = 0 } }
            wake()
        }
    }

    /// `tiering/aggregation_interval_ms`: how often heat is aged (DAMON's `aggr_interval`), and
    /// how often a tier below its `low` watermark is looked at.
    public var aggregationInterval: Duration {
        get { .milliseconds(aggregationMillis.load(ordering: .relaxed)) }
        set { aggregationMillis.store(Int(newValue / .milliseconds(1)), ordering: .relaxed); wake() }
    }

    /// `tiering/scan_period_ms`: how often slower tiers are searched for hot folios (NUMA
    /// balancing's scan period).
    public var scanPeriod: Duration {
        get { .milliseconds(scanMillis.load(ordering: .relaxed)) }
        set { scanMillis.store(Int(newValue / .milliseconds(1)), ordering: .relaxed); wake() }
    }

    /// `tiering/scan_size_mb`: how much of each program's memory its runtime's hint-fault scan
    /// takes access away from per `scanPeriod` (PROTOCOL.md §10); 0 turns the scan off.
    public var scanSizeMB: Int {
        get { scanSize.load(ordering: .relaxed) }
        set { scanSize.store(newValue, ordering: .relaxed) }
    }

    /// `tiering/hot_threshold`: the heat from which a folio counts as hot (promoted, and in
    /// `hot_bytes`). Heat is about twice a folio's pins per aggregation interval.
    public var hotThreshold: UInt32 {
        get { threshold.load(ordering: .relaxed) }
        set { threshold.store(newValue, ordering: .relaxed) }
    }

    /// `tiering/promote_rate_limit_MBps`: MiB promoted per second at most; 0 promotes nothing.
    public var promoteRateLimitMBps: Int {
        get { rateLimit.load(ordering: .relaxed) }
        set { rateLimit.store(newValue, ordering: .relaxed) }
    }

    /// What the policy did.
    public let statistics = TieringStatistics()
    let tiers: [Tier]
    let pipeline: MigrationPipeline
    private let isEnabled = Atomic<Bool>(false)
    private let aggregationMillis = Atomic<Int>(100)
    private let scanMillis = Atomic<Int>(1000)
    private let scanSize = Atomic<Int>(256)
    private let threshold = Atomic<UInt32>(8)
    // The kernel's default: 64 GiB/s, no limit in practice.
    private let rateLimit = Atomic<Int>(65536)
    private let spaces = Mutex<[ObjectIdentifier: AddressSpace]>([:])
    let passes: Mutex<PassState>
    private let thread = TieringThread()

    public init(pipeline: MigrationPipeline, tiers: [Tier]) {
        self.pipeline = pipeline
        self.tiers = tiers
        let now = ContinuousClock.now
        passes = Mutex(PassState(window: PromotionWindow(now: now), nextAggregation: now, nextScan: now))
    }

    /// Lets the policy see `space`'s folios.
    public func track(_ space: AddressSpace) {
        spaces.withLock { $0[ObjectIdentifier(space)] = space }
    }

    /// Stops looking at `space` (it is being destroyed).
    public func forget(_ space: AddressSpace) {
        spaces.withLock { $0[ObjectIdentifier(space)] = nil }
    }

    /// The spaces tracked now, in creation order (so that equal heat ranks the same each time).
    var trackedSpaces: [AddressSpace] {
        spaces.withLock { Array($0.values) }.sorted { $0.id < $1.id }
    }

    /// Starts the background thread (idle while `enabled` is off); EAGAIN when the system
    /// refuses it.
    public func start() throws(Errno) {
        try thread.start { [self] in backgroundPass() }
    }

    /// Stops the background thread and waits for its pass in progress to end.
    public func stop() {
        thread.stop()
    }

    /// Runs the background thread's next pass now (a knob changed, or a tier fell below `low`).
    func wake() {
        thread.wake()
    }

    /// How long the background thread sleeps while the policy is off (a write to `enabled`
    /// wakes it at once).
    static let idleDelay = Duration.seconds(3600)

    /// `count` folios of `order` in `tier` of `space`, as `AddressSpace.allocate`, but with the
    /// policy on, an allocation that would leave the tier below `watermark_min` first demotes
    /// the tier's coldest folios (direct reclaim), and what the tier still cannot hold falls
    /// back to the tiers below (the kernel's zonelist fallback): ENOMEM only when no tier
    /// below can take the folios. All or nothing, as without the policy.
    public func allocate(in space: AddressSpace, tier: Int, order: Int, count: Int) throws(Errno) -> [Int] {
        guard enabled, tiers.indices.contains(tier), tier + 1 < tiers.count, (0...FolioTableLayout.maxOrder).contains(order), count > 0 else {
            return try space.allocate(tier: tier, order: order, count: count)
        }
        let level = tiers[tier]
        defer { if level.availableBytes < level.watermarks.current.low { wake() } }
        // A request past its quota is refused before any other folio is demoted for it.
        try space.checkLimits(order: order, count: count)
        let short = FolioTableLayout.bytes(order: order) * count + level.watermarks.current.min - level.availableBytes
        if short > 0 { _ = demoteDirectly(from: tier, bytes: short) }
        do {
            return try space.allocate(tier: tier, order: order, count: count)
        } catch where error == .noMemory {
            return try allocateFallingBack(in: space, from: tier, order: order, count: count)
        }
    }

    /// Fills the tiers from `tier` down: first keeping each tier's `watermark_min` free, as the
    /// kernel's fast path keeps a zone's watermark before it falls back, then into the
    /// reserves. Frees what it took and throws if the folios do not fit in all.
    private func allocateFallingBack(in space: AddressSpace, from tier: Int, order: Int, count: Int) throws(Errno) -> [Int] {
        let size = FolioTableLayout.bytes(order: order)
        var handles: [Int] = []
        for keepReserve in [true, false] {
            for lower in tier..<tiers.count where handles.count < count {
                let reserve = keepReserve ? tiers[lower].watermarks.current.min : 0
                let fit = min(count - handles.count, max(tiers[lower].availableBytes - reserve, 0) / size)
                guard fit > 0 else { continue }
                do {
                    handles += try space.allocate(tier: lower, order: order, count: fit)
                } catch where error == .noMemory {
                    continue  // another allocation took the room first
                } catch {
                    _ = space.free(handles)
                    throw error
                }
            }
        }
        guard handles.count == count else {
            _ = space.free(handles)
            throw .noMemory
        }
        return handles
    }
}
