import Synchronization

/// One counter of a `CounterSet`: its knob name, and its place in the listing (`rawValue`).
public protocol StatisticsCounter: RawRepresentable, CaseIterable, Sendable where RawValue == Int, AllCases == [Self] {
    /// The knob's name (`folios_migrated`, `demoted_bytes`).
    var name: String { get }
}

/// Event counters shown as knobs: the pipeline's (`migration/stats/`) and the tiering
/// policy's (`tiering/`). One lock taken once per update, which is cheaper than an atomic per
/// counter when one batch adds to several, and a reader sees one update's counts together.
public final class CounterSet<Counter: StatisticsCounter>: Sendable {
    private let counts = Mutex([UInt64](repeating: 0, count: Counter.allCases.count))

    public init() {}

    /// A counter's value.
    public subscript(counter: Counter) -> UInt64 { counts.withLock { $0[counter.rawValue] } }

    /// Every counter by its knob name, in listing order.
    public var snapshot: [(name: String, value: UInt64)] {
        let values = counts.withLock { $0 }
        return Counter.allCases.map { ($0.name, values[$0.rawValue]) }
    }

    /// Adds one update's counts.
    public func add(_ amounts: KeyValuePairs<Counter, UInt64>) {
        counts.withLock { counts in
            for (counter, amount) in amounts { counts[counter.rawValue] += amount }
        }
    }
}
