/// Nanosecond waits in log-linear buckets (16 per power of two, so a percentile is within about
/// 6 % of the truth), one per thread: recording is an add, with no lock and no allocation.
struct WaitHistogram {
    private static let subBuckets = 16
    private var counts = [UInt64](repeating: 0, count: 64 * subBuckets)
    private(set) var count: UInt64 = 0
    private(set) var max: UInt64 = 0

    mutating func record(_ nanos: UInt64) {
        counts[Self.bucket(of: nanos)] += 1
        count += 1
        if nanos > max { max = nanos }
    }

    mutating func merge(_ other: WaitHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        max = Swift.max(max, other.max)
    }

    /// The wait at quantile `q` (0–1): the upper end of its bucket, at most the largest seen.
    func percentile(_ q: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * q).rounded(.up))
        var seen: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() {
            seen += bucketCount
            if seen >= Swift.max(rank, 1) { return Swift.min(Self.upperBound(of: index), max) }
        }
        return max
    }

    /// Values below 16 have a bucket each; above, a power of two splits into 16.
    private static func bucket(of value: UInt64) -> Int {
        guard value >= UInt64(subBuckets) else { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount  // ≥ 4
        let fraction = Int(value >> UInt64(exponent - 4)) & (subBuckets - 1)
        return (exponent - 3) * subBuckets + fraction
    }

    private static func upperBound(of bucket: Int) -> UInt64 {
        guard bucket >= subBuckets else { return UInt64(bucket) }
        let exponent = bucket / subBuckets + 3
        let fraction = UInt64(bucket % subBuckets)
        return (UInt64(subBuckets) + fraction + 1) << UInt64(exponent - 4) - 1
    }
}
