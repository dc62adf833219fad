import Dispatch
import FolioMemory
import FoundationEssentials
import Glibc

/// The bench's output: a table for people, CSV for scripts, and the targets of
/// Documentation/DESIGN.md §11 judged on the medians of the in-round ratios.
enum BenchReport {
    static let csvHeader = "size,count,migrator,pages,gbps,ceiling_1t_gbps,ceiling_all_gbps,of_1t,of_1t_min,of_1t_max,of_all,of_all_min,of_all_max,of_kernel,copy_fraction,overhead_ns,faults_per_gib"

    static func csv(_ cells: [BenchCell]) -> String {
        ([csvHeader] + cells.map { cell in
            [ByteSize(bytes: cell.size).description, String(cell.count), cell.setting.description, cell.pageKind.rawValue,
             fixed(cell.gbps, digits: 3), fixed(cell.ceilingOneThread, digits: 3), fixed(cell.ceilingAllThreads, digits: 3),
             fixed(median(cell.ofOneThread), digits: 3), fixed(cell.ofOneThread.min() ?? 0, digits: 3), fixed(cell.ofOneThread.max() ?? 0, digits: 3),
             fixed(median(cell.ofAllThreads), digits: 3), fixed(cell.ofAllThreads.min() ?? 0, digits: 3), fixed(cell.ofAllThreads.max() ?? 0, digits: 3),
             fixed(median(cell.ofKernel), digits: 3), fixed(cell.copyFraction, digits: 3), fixed(cell.overheadNanosPerFolio, digits: 0),
             fixed(cell.faultsPerGiB, digits: 1)].joined(separator: ",")
        }).joined(separator: "\n") + "\n"
    }

    /// A ratio's median and, after it, its range across rounds.
    private static func ratio(_ values: [Double]) -> [String] {
        guard !values.isEmpty else { return ["", ""] }
        return [fixed(median(values), digits: 2), fixed(values.min()!, digits: 2) + "–" + fixed(values.max()!, digits: 2)]
    }

    static func table(_ cells: [BenchCell]) -> String {
        let header = ["size", "count", "migrator", "GB/s", "of 1t", "range", "of all", "range", "×kernel", "copy F", "ns/folio", "faults/GiB"]
        var rows: [[String]] = []
        for (index, cell) in cells.enumerated() {
            let size = ByteSize(bytes: cell.size).description
            // Each size opens with its ceilings: plain memcpy of the same bytes, same page kind.
            if index == 0 || cells[index - 1].size != cell.size {
                rows.append([size, String(cell.count), "memcpy 1t", fixed(cell.ceilingOneThread, digits: 2)] + Array(repeating: "", count: 8))
                rows.append([size, String(cell.count), "memcpy all", fixed(cell.ceilingAllThreads, digits: 2)] + Array(repeating: "", count: 8))
            }
            rows.append([size, String(cell.count), cell.setting.description, fixed(cell.gbps, digits: 2)]
                        + ratio(cell.ofOneThread) + ratio(cell.ofAllThreads)
                        + [cell.ofKernel.isEmpty ? "" : fixed(median(cell.ofKernel), digits: 2), fixed(cell.copyFraction, digits: 2),
                           fixed(cell.overheadNanosPerFolio, digits: 0), fixed(cell.faultsPerGiB, digits: 1)])
        }
        return ([machine(cells.first?.pageKind, rounds: cells.first?.samples.count ?? 0)] + [""] + aligned([header] + rows, textColumns: 3) + [""] + targets(cells)).joined(separator: "\n") + "\n"
    }

    /// Which machine and which page kind the figures come from.
    static func machine(_ pageKind: HugePageMode?, rounds: Int) -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last?
            .trimmingPrefix(" ") ?? "unknown CPU"
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let pages = pageKind.map { $0 == .none ? "4 KiB pages (none)" : $0.rawValue } ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) CPUs, \(model), Linux \(release); tier pages: \(pages); "
            + "\(rounds) rounds, ratios within each round, medians (range across rounds)"
    }

    /// `rows` as columns: the first `textColumns` left-aligned text, the figures right-aligned.
    static func aligned(_ rows: [[String]], textColumns: Int) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            var cells: [String] = []
            for (column, text) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[column] - text.count)
                cells.append(column < textColumns ? text + padding : padding + text)
            }
            var line = cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    /// Each target of DESIGN.md §11 the run has the cells to judge, on the medians.
    static func targets(_ cells: [BenchCell]) -> [String] {
        var lines: [String] = []
        func judge(_ value: Double, atLeast target: Double) -> String { value >= target ? "met" : "NOT met" }
        let largest = cells.map(\.size).max() ?? 0
        let kernel = cells.first { $0.size == largest && $0.setting.name == "kernel" }
        if let kernel {
            let of = median(kernel.ofOneThread)
            lines.append("kernel, \(ByteSize(bytes: largest)) × \(kernel.count): \(fixed(of, digits: 2)) of a one-thread memcpy (target ≥ 0.90: \(judge(of, atLeast: 0.9)))")
        }
        for name in ["mtcopy:2", "dcbm:2"] {
            guard let cell = cells.first(where: { $0.size == largest && $0.setting.description == name }) else { continue }
            let of = median(cell.ofAllThreads)
            lines.append("\(name), \(ByteSize(bytes: largest)): \(fixed(of, digits: 2)) of an all-core memcpy (target ≥ 0.90: \(judge(of, atLeast: 0.9)))")
        }
        if let small = cells.first(where: { $0.size == 4096 && $0.setting.name == "kernel" }), let kernel, kernel.size != 4096 {
            let share = small.gbps / kernel.gbps
            lines.append("kernel, 4K × \(small.count): \(fixed(share, digits: 2)) of its \(ByteSize(bytes: largest)) rate (target ≥ 0.50: \(judge(share, atLeast: 0.5)))")
            lines.append("kernel, 4K: \(fixed(small.overheadNanosPerFolio, digits: 0)) ns per folio outside the copy (target ≤ 250: \(small.overheadNanosPerFolio <= 250 ? "met" : "NOT met"))")
        }
        let faults = cells.reduce(0.0) { $0 + $1.faultsPerGiB }
        lines.append("copy faults in the timed moves: \(fixed(faults, digits: 1)) per GiB, all cells (target 0: \(faults == 0 ? "met" : "NOT met"))")
        lines.append("verify: \(cells.reduce(0) { $0 + $1.verifyErrors }) folios wrong")
        return lines
    }
}
