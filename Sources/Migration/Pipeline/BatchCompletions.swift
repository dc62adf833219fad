import FolioProtocol
import Synchronization

/// What the pipeline tells as each batch completes, beside `LatencyRecord`: the folios moved
/// for each `MigrationReason` (the stats reply's `reason.<name>.folios_migrated`), and one
/// observer, which the daemon sets to feed the metrics endpoint's cumulative histograms.
///
/// One lock taken once per batch (the counts and the observer together), and the observer is
/// called outside it: a batch pays an uncontended lock and, with an observer set, one call.
public final class BatchCompletions: Sendable {
    /// One completed batch.
    public struct Completion: Sendable {
        public var reason: MigrationReason
        /// Folios the batch moved.
        public var folios: UInt64
        /// The batch's time, from its start to the end of its move step (as `batchLatency`).
        public var batchNanos: UInt64
        /// For a request's first batch: the request's time to its first completed folios
        /// (as `firstFolioLatency`); nil for the batches after it.
        public var firstFolioNanos: UInt64?
    }

    public typealias Observer = @Sendable (Completion) -> Void

    private struct State {
        var folios = [UInt64](repeating: 0, count: MigrationReason.allCases.count)
        var observer: Observer?
    }

    private let state = Mutex(State())

    public init() {}

    /// Calls `observer` for every batch completed from now on (one at a time: a second call
    /// replaces the first; nil removes it). It runs on the thread that ran the batch, after
    /// the space's lock is released, so it must be quick and must not block.
    public func observe(_ observer: Observer?) {
        state.withLock { $0.observer = observer }
    }

    /// Folios moved for `reason` since the daemon started.
    public func foliosMigrated(_ reason: MigrationReason) -> UInt64 {
        state.withLock { $0.folios[reason.rawValue] }
    }

    /// Every reason's count, in `MigrationReason` order.
    public var foliosMigratedByReason: [(reason: MigrationReason, folios: UInt64)] {
        let folios = state.withLock { $0.folios }
        return MigrationReason.allCases.map { ($0, folios[$0.rawValue]) }
    }

    func record(_ completion: Completion) {
        let observer = state.withLock { state in
            state.folios[completion.reason.rawValue] += completion.folios
            return state.observer
        }
        observer?(completion)
    }
}
