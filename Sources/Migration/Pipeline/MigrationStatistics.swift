import Synchronization

/// The pipeline's counters, shown under `migration/stats/`. Units are in the names.
public final class MigrationStatistics: Sendable {
    /// One counter; its name is the knob's.
    public enum Counter: Int, CaseIterable, Sendable {
        case batches, foliosMigrated, foliosFailed, foliosBusy, bytesCopied, unmapNanos, copyNanos, moveNanos, fallbacks, copyFaults

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
            }
        }
    }

    // One lock taken once per batch: cheaper than nine atomics, and a reader sees one batch's
    // counts together.
    private let counts = Mutex([UInt64](repeating: 0, count: Counter.allCases.count))

    public init() {}

    /// Every counter by its knob name, in listing order.
    public var snapshot: [(name: String, value: UInt64)] {
        let values = counts.withLock { $0 }
        return Counter.allCases.map { ($0.name, values[$0.rawValue]) }
    }

    /// A counter's value.
    public subscript(counter: Counter) -> UInt64 { counts.withLock { $0[counter.rawValue] } }

    /// Adds one batch's counts.
    func record(_ amounts: KeyValuePairs<Counter, UInt64>) {
        counts.withLock { counts in
            for (counter, amount) in amounts { counts[counter.rawValue] += amount }
        }
    }
}
