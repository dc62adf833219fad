import FolioProtocol

/// `folioctl ps`: the stats reply's `program.<name>.pid` and `program.<name>.tier.<tier>.bytes`
/// counters as a table, a program a line, its bytes per tier in MiB.
struct ProgramTable {
    private struct Program {
        var pid: UInt64 = 0
        var bytes: [String: UInt64] = [:]
    }

    private var programs: [String: Program] = [:]
    private var tiers: [String] = []

    init(_ stats: FolioStats) {
        for counter in stats.counters where counter.name.hasPrefix("tier.") && counter.name.hasSuffix(".size") {
            tiers.append(String(counter.name.dropFirst("tier.".count).dropLast(".size".count)))
        }
        for counter in stats.counters where counter.name.hasPrefix("program.") {
            let rest = counter.name.dropFirst("program.".count)
            if rest.hasSuffix(".pid") {
                programs[String(rest.dropLast(".pid".count)), default: Program()].pid = counter.value
                continue
            }
            // A name may hold dots; a tier's may not (it is a knob directory's).
            for tier in tiers where rest.hasSuffix(".tier.\(tier).bytes") {
                programs[String(rest.dropLast(".tier.\(tier).bytes".count)), default: Program()].bytes[tier] = counter.value
            }
        }
    }

    var text: String {
        let header = ["PID", "NAME"] + tiers.map { "\($0)_MiB" }
        var rows = [header]
        for (name, program) in programs.sorted(by: { $0.key < $1.key }) {
            rows.append(["\(program.pid)", name] + tiers.map { Self.mebibytes(program.bytes[$0] ?? 0) })
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                // Numbers to the right, the name to the left.
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == 1 ? cell + pad : pad + cell
            }.joined(separator: "  ").trimmingTrailingSpaces + "\n"
        }.joined()
    }

    private static func mebibytes(_ bytes: UInt64) -> String {
        let tenths = (bytes * 10 + (1 << 19)) >> 20
        return "\(tenths / 10).\(tenths % 10)"
    }
}

private extension String {
    var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
