import FolioMemory
import FolioProtocol
import Migration

/// The `stats` reply: the active migrator, the pipeline's counters under their knob names, each
/// offload migrator's own counts and each tier's size and free bytes.
enum StatsReport {
    static func stats(core: MigrationCore, tiers: [Tier]) -> FolioStats {
        var counters = core.pipeline.statistics.snapshot.map { FolioStats.Counter(name: $0.name, value: $0.value) }
        for migrator in core.slot.offloadMigrators {
            counters.append(.init(name: "\(migrator.name).folios_migrated", value: migrator.stats.foliosMigrated))
            counters.append(.init(name: "\(migrator.name).folios_failures", value: migrator.stats.foliosFailures))
        }
        for tier in tiers {
            counters.append(.init(name: "tier.\(tier.spec.name).size", value: UInt64(tier.spec.sizeBytes)))
            counters.append(.init(name: "tier.\(tier.spec.name).free_bytes", value: UInt64(tier.freeBytes)))
        }
        return FolioStats(migrator: core.slot.active.name, counters: counters)
    }
}
