import FolioMemory
import Migration

/// The `stats` reply: `key: value` lines a script can parse.
enum StatsReport {
    static func text(core: MigrationCore, tiers: [Tier]) -> String {
        var lines = ["migrator: \(core.slot.active.name)"]
        for (name, value) in core.pipeline.statistics.snapshot { lines.append("\(name): \(value)") }
        for migrator in core.slot.offloadMigrators {
            lines.append("\(migrator.name).folios_migrated: \(migrator.stats.foliosMigrated)")
            lines.append("\(migrator.name).folios_failures: \(migrator.stats.foliosFailures)")
        }
        for tier in tiers {
            lines.append("tier.\(tier.spec.name).size: \(tier.spec.sizeBytes)")
            lines.append("tier.\(tier.spec.name).free_bytes: \(tier.freeBytes)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
