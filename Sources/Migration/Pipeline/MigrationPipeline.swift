import FolioMemory
import FolioProtocol
import Dispatch
import Synchronization
import SystemPackage

/// The batch pipeline of DESIGN.md §5, after `migrate_pages_batch()`: a request is cut into batches
/// of at most `batchSize` folios; each batch runs prepare, unmap, flush, copy and move.
public final class MigrationPipeline: Sendable {
    /// `NR_MAX_BATCHED_MIGRATION`: the largest batch.
    public static let maxBatchFolios = 512
    /// `NR_MAX_MIGRATE_PAGES_RETRY`: passes over pinned folios before they fail with EBUSY.
    public static let maxUnmapPasses = 10
    /// Nomad's retry limit: unfrozen copies of a folio a write keeps racing before it is
    /// copied frozen.
    public static let maxTransactionalPasses = 10

    let slot: MigratorSlot
    /// The pipeline's counters.
    public let statistics = MigrationStatistics()
    /// Each batch's time, from its start to the end of its move step (lock wait included).
    public let batchLatency = LatencyRecord()
    /// Each request's time to its first completed folios: from the request's start to the
    /// end of its first batch's move step, when they are readable at their new place.
    public let firstFolioLatency = LatencyRecord()
    /// Folios moved for each reason (the stats reply's `reason.<name>.folios_migrated`).
    public let foliosByReason = CounterSet<MigrationReason>()
    /// Each batch's latencies as it completes, for an observer (the metrics).
    public let completions = BatchCompletions()
    private let batchLimit = Atomic<Int>(MigrationPipeline.maxBatchFolios)
    private let offloadReasons = Atomic<Int>((1 << MigrationReason.allCases.count) - 1)
    private let unfrozenCopies = Atomic<Bool>(true)
    private let shadowsKept = Atomic<Bool>(true)
    private let revokeTimeout = Atomic<Int>(MigrationPipeline.defaultRevokeTimeoutMilliseconds)

    /// `migration/revoke_timeout_ms`'s default and its largest value.
    public static let defaultRevokeTimeoutMilliseconds = 500
    public static let maxRevokeTimeoutMilliseconds = 60_000

    public init(slot: MigratorSlot) {
        self.slot = slot
    }

    /// `migration/batch_size`: folios per batch, 1–512.
    public var batchSize: Int {
        get { batchLimit.load(ordering: .relaxed) }
        set {
            precondition((1...Self.maxBatchFolios).contains(newValue))
            batchLimit.store(newValue, ordering: .relaxed)
        }
    }

    /// `migration/reason_mask`: bit `r` set lets reason `r` use the offload migrator.
    public var reasonMask: Int {
        get { offloadReasons.load(ordering: .relaxed) }
        set { offloadReasons.store(newValue & ((1 << MigrationReason.allCases.count) - 1), ordering: .relaxed) }
    }

    /// `migration/transactional`: batches copy their folios unfrozen, while read pins come
    /// and go, and commit those no write pin touched meanwhile.
    public var transactional: Bool {
        get { unfrozenCopies.load(ordering: .relaxed) }
        set { unfrozenCopies.store(newValue, ordering: .relaxed) }
    }

    /// `tiering/shadows`: a promotion keeps each folio's old block as its shadow, so a demotion
    /// back while it is clean copies nothing.
    public var keepsShadows: Bool {
        get { shadowsKept.load(ordering: .relaxed) }
        set { shadowsKept.store(newValue, ordering: .relaxed) }
    }

    /// `migration/revoke_timeout_ms`: how long a batch of a program space waits for each of
    /// its runtime's answers (PROTOCOL.md §10) before its folios count as busy.
    public var revokeTimeoutMilliseconds: Int {
        get { revokeTimeout.load(ordering: .relaxed) }
        set {
            precondition((1...Self.maxRevokeTimeoutMilliseconds).contains(newValue))
            revokeTimeout.store(newValue, ordering: .relaxed)
        }
    }

    /// Whether a handle appears twice (sorting: no hashing on the per-request path).
    private static func hasDuplicates(_ handles: [Int]) -> Bool {
        let sorted = handles.sorted()
        return zip(sorted, sorted.dropFirst()).contains { $0 == $1 }
    }

    /// Runs `request` on `space`. Handles that appear twice, or a target that is no tier, are
    /// EINVAL for the whole request; otherwise each folio gets its own status.
    public func migrate(_ request: MigrationRequest, in space: AddressSpace) -> Result<MigrationOutcome, Errno> {
        guard space.tiers.indices.contains(request.targetTier) else { return .failure(.invalidArgument) }
        guard !request.handles.isEmpty, !Self.hasDuplicates(request.handles) else { return .failure(.invalidArgument) }
        let offload = reasonMask & (1 << request.reason.rawValue) != 0
        // Every folio's result is written by its batch (prepare, unmap or move).
        var result = MigrationOutcome(results: Array(repeating: .failed(.noSuchFileOrDirectory), count: request.handles.count))
        let size = batchSize
        let requestStart = DispatchTime.now().uptimeNanoseconds
        for start in stride(from: 0, to: request.handles.count, by: size) {
            let indices = start..<min(start + size, request.handles.count)
            let batchStart = DispatchTime.now().uptimeNanoseconds
            space.locked { metadata in
                let mode = BatchMigration.Mode(offload: offload, transactional: transactional, keepsShadows: keepsShadows)
                var batch = BatchMigration(request: request, indices: indices, metadata: metadata, mode: mode)
                batch.run(slot: slot, into: &result)
                statistics.add(batch.counts)
                foliosByReason.add([request.reason: UInt64(batch.foliosMoved)])
            }
            // A batch's folios complete together, when its move step ends.
            let end = DispatchTime.now().uptimeNanoseconds
            batchLatency.record(end - batchStart)
            if start == 0 { firstFolioLatency.record(end - requestStart) }
            completions.record(.init(batchNanos: end - batchStart, firstFolioNanos: start == 0 ? end - requestStart : nil))
            result.batches += 1
        }
        return .success(result)
    }
}
