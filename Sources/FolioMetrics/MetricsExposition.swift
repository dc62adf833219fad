import FolioProtocol
import Prometheus

/// The stats reply in Prometheus's text exposition format (format 0.0.4), with its
/// conventions: every name under `foliod_`, counters ending `_total`, base units (bytes,
/// seconds), labels for what a name would otherwise carry (`migrator`, `tier`, `reason`,
/// `errno`), a HELP and a TYPE line for each. Built anew from each reply: the reply's counters
/// are the daemon's totals, so a scrape shows exactly what a client's `stats` would.
///
/// The names (README's metrics list): a stats counter the table below does not know still
/// appears, `migration/stats/X` as `foliod_X_total` (`_ns` as `_seconds_total`) and
/// `tiering.X` as `foliod_tiering_X_total`; other unknown names are left out.
public enum MetricsExposition {
    /// The Content-Type of the text format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private struct Family {
        var name: String
        var help: String
        /// Seconds from nanoseconds.
        var nanoseconds = false
    }

    /// The pipeline's counters (`migration/stats/`), by knob name.
    private static let pipeline: [String: Family] = [
        "batches": Family(name: "foliod_batches_total", help: "Batches the pipeline ran (migration/stats/batches)."),
        "folios_migrated": Family(name: "foliod_folios_migrated_total", help: "Folios migrated, over every client and the tiering policy (migration/stats/folios_migrated)."),
        "folios_failed": Family(name: "foliod_folios_failed_total", help: "Folios a migration left where they were (migration/stats/folios_failed)."),
        "folios_busy": Family(name: "foliod_folios_busy_total", help: "Folios still pinned after every unmap pass, EBUSY (migration/stats/folios_busy)."),
        "bytes_copied": Family(name: "foliod_copied_bytes_total", help: "Bytes the migrators copied (migration/stats/bytes_copied)."),
        "unmap_ns": Family(name: "foliod_unmap_seconds_total", help: "Time in the unmap step (migration/stats/unmap_ns).", nanoseconds: true),
        "copy_ns": Family(name: "foliod_copy_seconds_total", help: "Time in the copy step (migration/stats/copy_ns).", nanoseconds: true),
        "move_ns": Family(name: "foliod_move_seconds_total", help: "Time in the move step (migration/stats/move_ns).", nanoseconds: true),
        "fallbacks": Family(name: "foliod_fallbacks_total", help: "Folios the offload migrator failed and the fallback copied (migration/stats/fallbacks)."),
        "copy_faults": Family(name: "foliod_copy_faults_total", help: "Copies that faulted on a bad source or target (migration/stats/copy_faults)."),
        "tx_committed": Family(name: "foliod_transactions_committed_total", help: "Unfrozen copies committed (migration/stats/tx_committed)."),
        "tx_aborted": Family(name: "foliod_transactions_aborted_total", help: "Unfrozen copies a write pin spoiled (migration/stats/tx_aborted)."),
        "tx_frozen_copies": Family(name: "foliod_transaction_frozen_copies_total", help: "Folios copied frozen after too many aborts (migration/stats/tx_frozen_copies)."),
    ]

    /// The tiering policy's counters (`tiering/`), by knob name.
    private static let tiering: [String: Family] = [
        "demoted": Family(name: "foliod_tiering_demoted_folios_total", help: "Folios the policy demoted (tiering/demoted)."),
        "demoted_bytes": Family(name: "foliod_tiering_demoted_bytes_total", help: "Bytes the policy demoted (tiering/demoted_bytes)."),
        "demoted_direct": Family(name: "foliod_tiering_demoted_direct_folios_total", help: "Folios demoted for an allocation, on the allocating thread (tiering/demoted_direct)."),
        "promoted": Family(name: "foliod_tiering_promoted_folios_total", help: "Folios the policy promoted (tiering/promoted)."),
        "promoted_bytes": Family(name: "foliod_tiering_promoted_bytes_total", help: "Bytes the policy promoted (tiering/promoted_bytes)."),
        "aggregations": Family(name: "foliod_tiering_aggregations_total", help: "Heat aggregation passes (tiering/aggregations)."),
        "shadow_hits": Family(name: "foliod_tiering_shadow_hits_total", help: "Demotions that copied nothing, to a clean shadow (tiering/shadow_hits)."),
    ]

    /// Each tier's values (`tiers/<name>/`), by the stats name's last part; all gauges.
    private static let tier: [String: Family] = [
        "size": Family(name: "foliod_tier_size_bytes", help: "The tier's size (tiers/<name>/size)."),
        "free_bytes": Family(name: "foliod_tier_free_bytes", help: "Bytes free in the tier, shadows not counted (tiers/<name>/free_bytes)."),
        "hot_bytes": Family(name: "foliod_tier_hot_bytes", help: "Bytes of the tier's folios the policy counts hot (tiers/<name>/hot_bytes)."),
        "shadow_bytes": Family(name: "foliod_tier_shadow_bytes", help: "Bytes the tier holds as shadows of promoted folios (tiers/<name>/shadow_bytes)."),
        "watermark_min": Family(name: "foliod_tier_watermark_min_bytes", help: "The tier's min watermark (tiers/<name>/watermark_min)."),
        "watermark_low": Family(name: "foliod_tier_watermark_low_bytes", help: "The tier's low watermark (tiers/<name>/watermark_low)."),
        "watermark_high": Family(name: "foliod_tier_watermark_high_bytes", help: "The tier's high watermark (tiers/<name>/watermark_high)."),
    ]

    private static let used = Family(name: "foliod_tier_used_bytes", help: "Bytes of the tier in use: its size less its free bytes (shadows included).")
    private static let migratorMigrated = Family(name: "foliod_migrator_folios_migrated_total", help: "Folios a migrator copied, every copy counted (<migrator>/folios_migrated; kernel's from the stats reply).")
    private static let migratorFailures = Family(name: "foliod_migrator_folios_failures_total", help: "Folios an offload migrator failed to copy, which the fallback copied (<migrator>/folios_failures).")
    private static let reasonMigrated = Family(name: "foliod_reason_folios_migrated_total", help: "Folios migrated, by the reason their request named.")
    private static let sessions = Family(name: "foliod_sessions", help: "Client sessions served now.")
    private static let namedSpaces = Family(name: "foliod_named_spaces", help: "Named address spaces now.")
    private static let refused = Family(name: "foliod_refused_connections_total", help: "Connections and attaches the server refused, by the errno it answered.")
    private static let migratorInfo = Family(name: "foliod_migrator_info", help: "The active migrator (migration/offload_migrator), as the label of a 1.")

    /// Every name the tables give: a counter the tables do not know is left out rather than
    /// given one of these (swift-prometheus ends the process on a family registered twice
    /// with another help text or other labels).
    private static let knownNames: Set<String> = Set(
        (Array(pipeline.values) + Array(tiering.values) + Array(tier.values)
            + [used, migratorMigrated, migratorFailures, reasonMigrated, sessions, namedSpaces, refused, migratorInfo]).map(\.name)
            + ["foliod_batch_duration_seconds", "foliod_first_folio_duration_seconds"])

    /// `stats` as the text format, followed by `histograms`' families.
    public static func render(_ stats: FolioStats, histograms: LatencyHistograms? = nil) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        func addCounter(_ family: Family, _ labels: [(String, String)] = [], _ value: UInt64) {
            let counter = registry.makeCounter(descriptor: descriptor(family), labels: labels)
            if family.nanoseconds {
                counter.increment(by: Double(value) / 1e9)
            } else {
                counter.increment(by: Int64(clamping: value))
            }
        }
        func addGauge(_ family: Family, _ labels: [(String, String)] = [], _ value: UInt64) {
            registry.makeGauge(descriptor: descriptor(family), labels: labels).set(Int64(clamping: value))
        }
        var sizes: [String: UInt64] = [:], free: [String: UInt64] = [:]
        for entry in stats.counters {
            let value = entry.value
            let parts = entry.name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            switch parts.count {
            case 1:
                if let family = pipeline[parts[0]] {
                    addCounter(family, [], value)
                } else if let name = sanitized(parts[0]) {
                    let seconds = name.hasSuffix("_ns")
                    let base = seconds ? String(name.dropLast(3)) + "_seconds" : name
                    let family = Family(name: "foliod_\(base)_total", help: "migration/stats/\(parts[0]).", nanoseconds: seconds)
                    if !knownNames.contains(family.name) { addCounter(family, [], value) }
                }
            // The runtimes' scan settings: knobs, not counters (and the programs' own counters
            // fall to `default`).
            case 2 where parts[0] == "tiering" && parts[1].hasPrefix("scan_"): break
            case 2 where parts[0] == "tiering":
                if let family = tiering[parts[1]] {
                    addCounter(family, [], value)
                } else if let name = sanitized(parts[1]) {
                    let family = Family(name: "foliod_tiering_\(name)_total", help: "tiering/\(parts[1]).")
                    if !knownNames.contains(family.name) { addCounter(family, [], value) }
                }
            case 2 where parts[0] == "service":
                if parts[1] == "sessions" { addGauge(sessions, [], value) }
                if parts[1] == "named_spaces" { addGauge(namedSpaces, [], value) }
            case 2 where parts[1] == "folios_migrated":
                addCounter(migratorMigrated, [("migrator", parts[0])], value)
            case 2 where parts[1] == "folios_failures":
                addCounter(migratorFailures, [("migrator", parts[0])], value)
            case 3 where parts[0] == "tier":
                if parts[2] == "size" { sizes[parts[1]] = value }
                if parts[2] == "free_bytes" { free[parts[1]] = value }
                if let family = tier[parts[2]] { addGauge(family, [("tier", parts[1])], value) }
            case 3 where parts[0] == "reason" && parts[2] == "folios_migrated":
                addCounter(reasonMigrated, [("reason", parts[1])], value)
            case 3 where parts[0] == "service" && parts[1] == "refused":
                addCounter(refused, [("errno", parts[2])], value)
            default:
                // `batch_latency.p50_ns` and the like: the histograms carry the latencies.
                break
            }
        }
        for (name, size) in sizes.sorted(by: { $0.key < $1.key }) {
            addGauge(used, [("tier", name)], size - min(size, free[name] ?? 0))
        }
        registry.makeGauge(descriptor: descriptor(migratorInfo), labels: [("migrator", stats.migrator)]).set(Int64(1))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        histograms?.registry.emit(into: &buffer)
        return buffer
    }

    private static func descriptor(_ family: Family) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help)
    }

    /// `name` if it can stand in a metric name (letters, digits, `_`), else nil.
    private static func sanitized(_ name: String) -> String? {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return name
    }
}
