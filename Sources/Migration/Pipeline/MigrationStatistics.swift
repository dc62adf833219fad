import FolioProtocol

/// The pipeline's counters, shown under `migration/stats/`. Units are in the names.
public typealias MigrationStatistics = CounterSet<MigrationCounter>

/// The folios moved for each reason are counted as the pipeline's counters are.
extension MigrationReason: StatisticsCounter {}

/// One of the pipeline's counters; its name is the knob's.
public enum MigrationCounter: Int, StatisticsCounter {
    case batches, foliosMigrated, foliosFailed, foliosBusy, bytesCopied, unmapNanos, copyNanos, moveNanos, fallbacks, copyFaults
    case txCommitted, txAborted, txFrozenCopies

    /// The knob name under `migration/stats/`.
    public var name: String {
        switch self {
        case .batches: "batches"
        case .foliosMigrated: "folios_migrated"
        case .foliosFailed: "folios_failed"
        case .foliosBusy: "folios_busy"
        case .bytesCopied: "bytes_copied"
        case .unmapNanos: "unmap_ns"
        case .copyNanos: "copy_ns"
        case .moveNanos: "move_ns"
        case .fallbacks: "fallbacks"
        case .copyFaults: "copy_faults"
        case .txCommitted: "tx_committed"
        case .txAborted: "tx_aborted"
        case .txFrozenCopies: "tx_frozen_copies"
        }
    }
}
