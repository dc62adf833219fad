import Synchronization

/// What the tiering policy did, shown under `tiering/`. Units are in the names.
public final class TieringStatistics: Sendable {
    /// One counter; its name is the knob's.
    public enum Counter: Int, CaseIterable, Sendable {
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

    private let counts = Mutex([UInt64](repeating: 0, count: Counter.allCases.count))

    public init() {}

    /// A counter's value.
    public subscript(counter: Counter) -> UInt64 { counts.withLock { $0[counter.rawValue] } }

    /// Every counter by its knob name, in listing order.
    public var snapshot: [(name: String, value: UInt64)] {
        let values = counts.withLock { $0 }
        return Counter.allCases.map { ($0.name, values[$0.rawValue]) }
    }

    func add(_ amounts: KeyValuePairs<Counter, Int>) {
        counts.withLock { counts in
            for (counter, amount) in amounts { counts[counter.rawValue] += UInt64(amount) }
        }
    }
}
