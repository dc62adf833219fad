import FolioProtocol

/// One screen of `folioctl top`: the stats reply `now`, with rates from the reply taken
/// `seconds` before it (none on the first screen). Every number is a field of the stats reply,
/// the same ones the metrics endpoint serves.
struct TopScreen {
    var socket: String
    var now: FolioStats
    var before: FolioStats?
    var seconds: Double
    /// What `--interval` asked for.
    var interval: Double
    var width: Int

    private func value(_ name: String) -> UInt64 { now[name] ?? 0 }

    /// Per second since `before`; nil on the first screen. A counter that went down (a knob
    /// write zeroes it) counts from zero.
    private func rate(_ name: String) -> Double? {
        guard let before, seconds > 0 else { return nil }
        let new = value(name), old = before[name] ?? 0
        return Double(new >= old ? new - old : new) / seconds
    }

    private var tiers: [String] {
        now.counters.compactMap { counter in
            let parts = counter.name.split(separator: ".")
            return parts.count == 3 && parts[0] == "tier" && parts[2] == "size" ? String(parts[1]) : nil
        }
    }

    private var offloadMigrators: [String] {
        now.counters.compactMap { counter in
            let parts = counter.name.split(separator: ".")
            return parts.count == 2 && parts[1] == "folios_failures" && parts[0] != "tiering" ? String(parts[0]) : nil
        }
    }

    private var reasons: [String] {
        now.counters.compactMap { counter in
            let parts = counter.name.split(separator: ".")
            return parts.count == 3 && parts[0] == "reason" && parts[2] == "folios_migrated" ? String(parts[1]) : nil
        }
    }

    var lines: [String] {
        var lines = ["folioctl top: \(socket), migrator \(now.migrator), every \(Format.seconds(interval)); q quits", ""]
        let bar = max(10, width - 66)
        lines.append(Format.row(["TIERS", "[# hot, = used, . free]", "used", "hot", "free", "shadow"], [-8, -(bar + 2), 10, 10, 10, 10]))
        for tier in tiers {
            let size = value("tier.\(tier).size"), free = value("tier.\(tier).free_bytes"), hot = value("tier.\(tier).hot_bytes")
            let used = size - min(size, free)
            lines.append(Format.row(["  " + tier, Format.bar(used: used, hot: min(hot, used), size: size, width: bar),
                                     Format.bytes(used), Format.bytes(hot), Format.bytes(free), Format.bytes(value("tier.\(tier).shadow_bytes"))],
                                    [-8, -(bar + 2), 10, 10, 10, 10]))
        }
        lines.append("")
        let columns = [-22, 12, 12, 12, 16]
        lines.append(Format.row(["MIGRATION", "folios/s", "MiB/s", "batches/s", "folios"], columns))
        lines.append(Format.row(["  all", Format.rate(rate("folios_migrated")), Format.rate(rate("bytes_copied").map { $0 / 1_048_576 }),
                                 Format.rate(rate("batches")), "\(value("folios_migrated"))"], columns))
        lines.append("  by migrator")
        // Each migrator's own copies (kernel's: as the active one, its fallbacks, masked-out
        // reasons); a move to a shadow copies nothing and shows in no migrator's row.
        for migrator in offloadMigrators + ["kernel"] {
            let name = "\(migrator).folios_migrated"
            lines.append(Format.row(["    " + migrator + (migrator == now.migrator ? " (active)" : ""), Format.rate(rate(name)), "", "", "\(value(name))"], columns))
        }
        lines.append("  by reason")
        for reason in reasons {
            let name = "reason.\(reason).folios_migrated"
            lines.append(Format.row(["    " + reason, Format.rate(rate(name)), "", "", "\(value(name))"], columns))
        }
        lines.append("")
        lines.append(Format.row(["LATENCY (last 4096)", "p50", "p99"], [-22, 12, 12]))
        lines.append(Format.row(["  batch", Format.nanoseconds(value("batch_latency.p50_ns")), Format.nanoseconds(value("batch_latency.p99_ns"))], [-22, 12, 12]))
        lines.append(Format.row(["  first folio", Format.nanoseconds(value("first_folio_latency.p50_ns")),
                                 Format.nanoseconds(value("first_folio_latency.p99_ns"))], [-22, 12, 12]))
        lines.append("")
        lines.append(Format.row(["TIERING", "promoted/s", "demoted/s", "promoted MiB/s", "demoted MiB/s"], [-22, 12, 12, 16, 16]))
        lines.append(Format.row(["  moves", Format.rate(rate("tiering.promoted")), Format.rate(rate("tiering.demoted")),
                                 Format.rate(rate("tiering.promoted_bytes").map { $0 / 1_048_576 }),
                                 Format.rate(rate("tiering.demoted_bytes").map { $0 / 1_048_576 })], [-22, 12, 12, 16, 16]))
        lines.append("")
        let refused = now.counters.filter { $0.name.hasPrefix("service.refused.") && $0.value > 0 }
            .map { "\($0.name.dropFirst("service.refused.".count)) \($0.value)" }
        lines.append("SERVICE  sessions \(value("service.sessions"))  named spaces \(value("service.named_spaces"))  refused: "
                     + (refused.isEmpty ? "none" : refused.joined(separator: ", ")))
        return lines.map { $0.count > width ? String($0.prefix(width)) : $0 }
    }
}

/// The numbers as `top` shows them: one decimal, binary units.
enum Format {
    /// `texts` in columns of `widths` (negative: left-aligned), one space between.
    static func row(_ texts: [String], _ widths: [Int]) -> String {
        zip(texts, widths).map { text, width in
            let pad = String(repeating: " ", count: max(0, abs(width) - text.count))
            return width < 0 ? text + pad : pad + text
        }.joined(separator: " ")
    }

    /// `[####====......]`: hot, used but not hot, free.
    static func bar(used: UInt64, hot: UInt64, size: UInt64, width: Int) -> String {
        guard size > 0 else { return "[" + String(repeating: " ", count: width) + "]" }
        func cells(_ bytes: UInt64) -> Int { Int((Double(bytes) / Double(size) * Double(width)).rounded()) }
        let hotCells = min(width, cells(hot)), usedCells = max(hotCells, min(width, cells(used)))
        return "[" + String(repeating: "#", count: hotCells) + String(repeating: "=", count: usedCells - hotCells)
            + String(repeating: ".", count: width - usedCells) + "]"
    }

    static func decimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    static func bytes(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : "\(decimal(value)) \(units[unit])"
    }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value >= 100 ? "\(Int(value.rounded()))" : decimal(value)
    }

    static func nanoseconds(_ nanoseconds: UInt64) -> String {
        switch nanoseconds {
        case 0: "-"
        case ..<1_000: "\(nanoseconds) ns"
        case ..<1_000_000: "\(decimal(Double(nanoseconds) / 1e3)) µs"
        case ..<1_000_000_000: "\(decimal(Double(nanoseconds) / 1e6)) ms"
        default: "\(decimal(Double(nanoseconds) / 1e9)) s"
        }
    }

    static func seconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(decimal(seconds)) s"
    }
}
