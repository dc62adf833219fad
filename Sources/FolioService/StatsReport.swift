import FolioMemory
import FolioProtocol
import Migration
import SystemCalls
import Tiering

/// The `stats` reply: the active migrator, the pipeline's counters under their knob names, each
/// offload migrator's own counts, the tiering policy's counts and each tier's size, free and
/// hot bytes; then each tier's watermarks, the folios moved per reason, the latencies' p50 and
/// p99, and the server's sessions, named spaces and refusals (PROTOCOL.md §4).
enum StatsReport {
    /// Counter bytes the programs may take: a quarter of a message.
    static let maxProgramBytes = MessageHeader.maxMessageBytes / 4

    static func stats(core: MigrationCore, registry: SpaceRegistry) -> FolioStats {
        let tiers = registry.tiers, tiering = registry.tiering
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
        // Added after version 1's list; clients skip the names they do not know.
        for tier in tiers {
            let levels = tier.watermarks.current
            counters.append(.init(name: "tier.\(tier.spec.name).watermark_min", value: UInt64(levels.min)))
            counters.append(.init(name: "tier.\(tier.spec.name).watermark_low", value: UInt64(levels.low)))
            counters.append(.init(name: "tier.\(tier.spec.name).watermark_high", value: UInt64(levels.high)))
        }
        // The default copier's own count, as the offload migrators' above: folios it copied as
        // the active migrator (or for a reason the mask keeps from them).
        counters.append(.init(name: "\(core.kernel.name).folios_migrated", value: core.kernel.stats.foliosMigrated))
        for (reason, folios) in core.pipeline.foliosByReason.snapshot {
            counters.append(.init(name: "reason.\(reason).folios_migrated", value: folios))
        }
        for (name, record) in [("batch_latency", core.pipeline.batchLatency), ("first_folio_latency", core.pipeline.firstFolioLatency)] {
            let summary = record.summary
            counters.append(.init(name: "\(name).p50_ns", value: summary.p50))
            counters.append(.init(name: "\(name).p99_ns", value: summary.p99))
        }
        counters.append(.init(name: "service.sessions", value: UInt64(registry.counters.sessions)))
        counters.append(.init(name: "service.named_spaces", value: UInt64(registry.namedSpaceCount)))
        for (errno, count) in registry.counters.refused {
            counters.append(.init(name: "service.refused.\(errno.name)", value: count))
        }
        // What a program's runtime scans for heat (PROTOCOL.md §10), while the policy runs.
        if let tiering {
            counters.append(.init(name: "tiering.scan_period_ms", value: UInt64(tiering.scanPeriod / .milliseconds(1))))
            counters.append(.init(name: "tiering.scan_size_mb", value: tiering.enabled ? UInt64(tiering.scanSizeMB) : 0))
        }
        // Programs run by foliod-run (PROTOCOL.md §10): `folioctl ps` reads these. By name, as
        // many as fit `maxProgramBytes` of counters, so the reply fits one message whatever the
        // names; a program whose space is mid-batch shows no bytes this time.
        var programBytes = 0
        for program in registry.programs {
            let names = ["pid"] + tiers.map { "tier.\($0.spec.name).bytes" }
            programBytes += names.reduce(0) { $0 + "program.\(program.name).\($1)".utf8.count + 10 }
            guard programBytes <= maxProgramBytes else { break }
            counters.append(.init(name: "program.\(program.name).pid", value: UInt64(max(program.pid, 0))))
            guard let bytes = program.space.bytesPerTierIfIdle else { continue }
            for (tier, held) in zip(tiers, bytes) {
                counters.append(.init(name: "program.\(program.name).tier.\(tier.spec.name).bytes", value: UInt64(held)))
            }
        }
        return FolioStats(migrator: core.slot.active.name, counters: counters)
    }
}
