import Synchronization

/// Each batch's latencies as it completes, told to one observer, which the daemon sets to feed
/// the metrics endpoint's cumulative histograms (`LatencyRecord` keeps only the latest).
///
/// The observer is read under a lock taken once per batch and called outside it: a batch pays
/// an uncontended lock and, with an observer set, one call.
public final class BatchCompletions: Sendable {
    /// One completed batch.
    public struct Completion: Sendable {
        /// The batch's time, from its start to the end of its move step (as `batchLatency`).
        public var batchNanos: UInt64
        /// For a request's first batch: the request's time to its first completed folios
        /// (as `firstFolioLatency`); nil for the batches after it.
        public var firstFolioNanos: UInt64?
    }

    public typealias Observer = @Sendable (Completion) -> Void

    private let observer = Mutex<Observer?>(nil)

    public init() {}

    /// Calls `observer` for every batch completed from now on (one at a time: a second call
    /// replaces the first; nil removes it). It runs on the thread that ran the batch, after
    /// the space's lock is released, so it must be quick and must not block.
    public func observe(_ observer: Observer?) {
        self.observer.withLock { $0 = observer }
    }

    func record(_ completion: Completion) {
        observer.withLock { $0 }?(completion)
    }
}
