import Synchronization

/// The latest latencies of one kind (batches, or a request's first batch), in nanoseconds:
/// a ring of the last `capacity`, so the percentiles follow what the daemon does now.
public final class LatencyRecord: Sendable {
    public static let capacity = 4096

    private struct Ring {
        var values: [UInt64] = []
        var next = 0
    }

    private let ring = Mutex(Ring())

    public init() {}

    func record(_ nanoseconds: UInt64) {
        ring.withLock { ring in
            if ring.values.count < Self.capacity {
                ring.values.append(nanoseconds)
            } else {
                ring.values[ring.next] = nanoseconds
            }
            ring.next = (ring.next + 1) % Self.capacity
        }
    }

    /// Forgets every value (a benchmark's cell starts clean).
    public func reset() {
        ring.withLock { $0 = Ring() }
    }

    /// The median, the 99th percentile and the largest of the values held, and how many
    /// there are (all zero when there are none).
    public var summary: (p50: UInt64, p99: UInt64, max: UInt64, count: Int) {
        let values = ring.withLock { $0.values }.sorted()
        guard let largest = values.last else { return (0, 0, 0, 0) }
        func percentile(_ p: Int) -> UInt64 { values[min(values.count - 1, (values.count * p + 99) / 100 - 1)] }
        return (percentile(50), percentile(99), largest, values.count)
    }
}
