import FolioMemory
import FolioProtocol
import Migration
import Tiering

/// The `stats` reply: the active migrator, the pipeline's counters under their knob names, each
/// offload migrator's own counts, the tiering policy's counts and each tier's size, free and
/// hot bytes.
enum StatsReport {
    static func stats(core: MigrationCore, tiers: [Tier], tiering: TieringPolicy?) -> FolioStats {
        var counters = core.pipeline.statistics.snapshot.map { FolioStats.Counter(name: $0.name, value: $0.value) }
        for migrator in core.slot.offloadMigrators {
            counters.append(.init(name: "\(migrator.name).folios_migrated", value: migrator.stats.foliosMigrated))
            counters.append(.init(name: "\(migrator.name).folios_failures", value: migrator.stats.foliosFailures))
        }
        for counter in tiering?.statistics.snapshot ?? [] {
            counters.append(.init(name: "tiering.\(counter.name)", value: counter.value))
        }
        if let tiering { counters.append(.init(name: "tiering.shadow_hits", value: UInt64(tiering.shadowHits))) }
        for tier in tiers {
            counters.append(.init(name: "tier.\(tier.spec.name).size", value: UInt64(tier.spec.sizeBytes)))
            counters.append(.init(name: "tier.\(tier.spec.name).free_bytes", value: UInt64(tier.freeBytes)))
            counters.append(.init(name: "tier.\(tier.spec.name).hot_bytes", value: UInt64(tier.hotBytes)))
            counters.append(.init(name: "tier.\(tier.spec.name).shadow_bytes", value: UInt64(tier.shadows.bytes)))
        }
        return FolioStats(migrator: core.slot.active.name, counters: counters)
    }
}
