import Sysfs
import SystemPackage

extension TieringPolicy {
    /// Allowed `aggregation_interval_ms` and `scan_period_ms`: 10 ms to 10 minutes.
    static let intervalRange: ClosedRange<UInt32> = 10...600_000

    /// The largest `scan_size_mb`: 1 TiB, past any tier.
    static let maxScanSizeMB: UInt32 = 1 << 20

    /// Moves that a shadow served, across the tiers.
    public var shadowHits: Int { tiers.reduce(0) { $0 + $1.shadows.hits } }

    /// Fills `tiering/`: `enabled`, the intervals, `scan_size_mb`, `hot_threshold`, `promote_rate_limit_MBps`,
    /// the counters, `shadows` and `shadow_hits`.
    public func registerKnobs(in directory: SysfsDirectory) {
        directory.add(.boolean("enabled", get: { self.enabled }, set: { self.enabled = $0 }))
        directory.add(.unsigned("aggregation_interval_ms", range: Self.intervalRange,
                                get: { UInt32(self.aggregationInterval / .milliseconds(1)) },
                                set: { self.aggregationInterval = .milliseconds($0) }))
        directory.add(.unsigned("scan_period_ms", range: Self.intervalRange,
                                get: { UInt32(self.scanPeriod / .milliseconds(1)) },
                                set: { self.scanPeriod = .milliseconds($0) }))
        directory.add(.unsigned("scan_size_mb", range: 0...Self.maxScanSizeMB, get: { UInt32(self.scanSizeMB) }, set: { self.scanSizeMB = Int($0) }))
        directory.add(.unsigned("hot_threshold", range: 1...UInt32.max, get: { self.hotThreshold }, set: { self.hotThreshold = $0 }))
        directory.add(.unsigned("promote_rate_limit_MBps", range: 0...UInt32.max,
                                get: { UInt32(self.promoteRateLimitMBps) },
                                set: { self.promoteRateLimitMBps = Int($0) }))
        for counter in TieringCounter.allCases {
            directory.add(.readOnly(counter.name) { "\(self.statistics[counter])\n" })
        }
        directory.add(.boolean("shadows", get: { self.pipeline.keepsShadows }) { keep in
            self.pipeline.keepsShadows = keep
            // Off means none kept, not only none made from now on.
            if !keep { self.tiers.forEach { $0.shadows.reclaim(.max) } }
        })
        directory.add(.readOnly("shadow_hits") { "\(self.shadowHits)\n" })
    }
}
