import Migration

/// What the tiering policy did, shown under `tiering/`. Units are in the names.
public typealias TieringStatistics = CounterSet<TieringCounter>

/// One of the policy's counters; its name is the knob's.
public enum TieringCounter: Int, StatisticsCounter {
    case demoted, demotedBytes, demotedDirect, promoted, promotedBytes, aggregations

    /// The knob name under `tiering/`.
    public var name: String {
        switch self {
        case .demoted: "demoted"
        case .demotedBytes: "demoted_bytes"
        case .demotedDirect: "demoted_direct"
        case .promoted: "promoted"
        case .promotedBytes: "promoted_bytes"
        case .aggregations: "aggregations"
        }
    }
}
