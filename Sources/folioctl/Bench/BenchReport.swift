import Dispatch
import FoundationEssentials
import Glibc

/// The bench's output: a table for people, CSV for scripts, and the targets of Documentation/DESIGN.md §11.
enum BenchReport {
    static let csvHeader = "size,count,migrator,gbps,stddev,ceiling_1t_gbps,ceiling_all_gbps,copy_fraction"

    static func csv(_ cells: [BenchCell]) -> String {
        ([csvHeader] + cells.map { cell in
            [ByteSize(bytes: cell.size).description, String(cell.count), cell.setting.description, fixed(cell.mean, digits: 3),
             fixed(cell.standardDeviation, digits: 3), fixed(cell.ceiling.oneThreadGBps, digits: 3), fixed(cell.ceiling.allThreadsGBps, digits: 3),
             fixed(cell.copyFraction, digits: 3)].joined(separator: ",")
        }).joined(separator: "\n") + "\n"
    }

    static func table(_ cells: [BenchCell]) -> String {
        let header = ["size", "count", "migrator", "GB/s", "±", "memcpy 1t", "all cores", "of 1t", "of all", "copy F", "other ns/folio"]
        var rows: [[String]] = []
        for (index, cell) in cells.enumerated() {
            let size = ByteSize(bytes: cell.size).description
            // Each size opens with its ceiling rows: what plain memcpy does with the same bytes.
            if index == 0 || cells[index - 1].size != cell.size {
                for (name, gbps) in [("memcpy 1t", cell.ceiling.oneThreadGBps), ("memcpy all", cell.ceiling.allThreadsGBps)] {
                    rows.append([size, String(cell.count), name, fixed(gbps, digits: 2), "", "", "", fixed(gbps / cell.ceiling.oneThreadGBps, digits: 2), fixed(gbps / cell.ceiling.allThreadsGBps, digits: 2), "", ""])
                }
            }
            rows.append([size, String(cell.count), cell.setting.description, fixed(cell.mean, digits: 2),
                         fixed(cell.standardDeviation, digits: 2), fixed(cell.ceiling.oneThreadGBps, digits: 2), fixed(cell.ceiling.allThreadsGBps, digits: 2),
                         fixed(cell.mean / cell.ceiling.oneThreadGBps, digits: 2), fixed(cell.mean / cell.ceiling.allThreadsGBps, digits: 2),
                         fixed(cell.copyFraction, digits: 2), fixed(cell.overheadNanosPerFolio, digits: 0)])
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        // The first three columns are text, left-aligned; the figures are right-aligned.
        let lines = ([header] + rows).map { (row: [String]) -> String in
            var cells: [String] = []
            for (column, text) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[column] - text.count)
                cells.append(column < 3 ? text + padding : padding + text)
            }
            var line = cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
        return (lines + [""] + targets(cells)).joined(separator: "\n") + "\n"
    }

    /// The targets of DESIGN.md §11, where the run has the cells to judge them.
    static func targets(_ cells: [BenchCell]) -> [String] {
        var lines: [String] = []
        let largest = cells.map(\.size).max() ?? 0
        let kernel = cells.first { $0.size == largest && $0.setting.name == "kernel" }
        if let kernel {
            lines.append("kernel, \(ByteSize(bytes: largest)) × \(kernel.count): \(fixed(kernel.mean / kernel.ceiling.oneThreadGBps, digits: 2)) of a one-thread memcpy (target 0.90)")
            if let mtcopy = cells.first(where: { $0.size == largest && $0.setting.description == "mtcopy:2" }) {
                lines.append("mtcopy:2 vs kernel at \(ByteSize(bytes: largest)): \(fixed(mtcopy.mean / kernel.mean, digits: 2))× (target 1.90; all-core memcpy is \(fixed(kernel.ceiling.allThreadsGBps / kernel.ceiling.oneThreadGBps, digits: 2))× one thread here)")
            }
        }
        if let small = cells.first(where: { $0.size == 4096 && $0.setting.name == "kernel" }) {
            lines.append("4K, kernel: \(fixed(small.overheadNanosPerFolio, digits: 0)) ns per folio outside the copy, median (target 1000)")
        }
        let errors = cells.reduce(0) { $0 + $1.verifyErrors }
        lines.append("verify: \(errors) folios wrong")
        return lines
    }
}
