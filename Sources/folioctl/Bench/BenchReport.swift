import Foundation

/// The bench's output: a table for people, CSV for scripts, and the targets of Documentation/DESIGN.md §11.
enum BenchReport {
    static let csvHeader = "size,count,migrator,gbps,stddev,ceiling_1t_gbps,ceiling_all_gbps,copy_fraction"

    static func csv(_ cells: [BenchCell]) -> String {
        ([csvHeader] + cells.map { cell in
            [ByteSize(bytes: cell.size).description, String(cell.count), cell.setting.description, fixed(cell.mean, 3),
             fixed(cell.standardDeviation, 3), fixed(cell.ceiling.oneThreadGBps, 3), fixed(cell.ceiling.allThreadsGBps, 3),
             fixed(cell.copyFraction, 3)].joined(separator: ",")
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
                    rows.append([size, String(cell.count), name, fixed(gbps, 2), "", "", "", fixed(gbps / cell.ceiling.oneThreadGBps, 2), fixed(gbps / cell.ceiling.allThreadsGBps, 2), "", ""])
                }
            }
            rows.append([size, String(cell.count), cell.setting.description, fixed(cell.mean, 2),
                         fixed(cell.standardDeviation, 2), fixed(cell.ceiling.oneThreadGBps, 2), fixed(cell.ceiling.allThreadsGBps, 2),
                         fixed(cell.mean / cell.ceiling.oneThreadGBps, 2), fixed(cell.mean / cell.ceiling.allThreadsGBps, 2),
                         fixed(cell.copyFraction, 2), fixed(cell.overheadNanosPerFolio, 0)])
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let lines = ([header] + rows).map { row in
            row.enumerated().map { column, text in
                column < 3 ? text.padding(toLength: widths[column], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[column] - text.count) + text
            }.joined(separator: "  ").replacing(/\s+$/, with: "")
        }
        return (lines + [""] + targets(cells)).joined(separator: "\n") + "\n"
    }

    /// The targets of DESIGN.md §11, where the run has the cells to judge them.
    static func targets(_ cells: [BenchCell]) -> [String] {
        var lines: [String] = []
        let largest = cells.map(\.size).max() ?? 0
        let kernel = cells.first { $0.size == largest && $0.setting.name == "kernel" }
        if let kernel {
            lines.append("kernel, \(ByteSize(bytes: largest)) × \(kernel.count): \(fixed(kernel.mean / kernel.ceiling.oneThreadGBps, 2)) of a one-thread memcpy (target 0.90)")
            if let mtcopy = cells.first(where: { $0.size == largest && $0.setting.description == "mtcopy:2" }) {
                lines.append("mtcopy:2 vs kernel at \(ByteSize(bytes: largest)): \(fixed(mtcopy.mean / kernel.mean, 2))× (target 1.90; all-core memcpy is \(fixed(kernel.ceiling.allThreadsGBps / kernel.ceiling.oneThreadGBps, 2))× one thread here)")
            }
        }
        if let small = cells.first(where: { $0.size == 4096 && $0.setting.name == "kernel" }) {
            lines.append("4K, kernel: \(fixed(small.overheadNanosPerFolio, 0)) ns per folio outside the copy, median (target 1000)")
        }
        let errors = cells.reduce(0) { $0 + $1.verifyErrors }
        lines.append("verify: \(errors) folios wrong")
        return lines
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}
