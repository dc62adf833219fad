import FolioClient
import FolioMemory
import FoundationEssentials

/// One row of the batch-size table: a folio size, a migrator setting and a batch size.
struct BatchSizeCell {
    let size: Int
    let count: Int
    let setting: MigratorSetting
    let batchSize: Int
    /// GB/s of each round.
    let rates: [Double]
    /// The daemon's latencies (`migration/stats/*_ns`), each the median over rounds of that
    /// round's figure: p50 and p99 of the batches, p50 and p99 of the first completed folios.
    let batchP50: UInt64
    let batchP99: UInt64
    let firstP50: UInt64
    let firstP99: UInt64

    var gbps: Double { median(rates) }
}

/// The trade the kernel series' reviewers asked about: larger batches copy faster, but a
/// request's first folios complete only when their whole batch has. For each folio size, each
/// setting and each batch size (round-robin, `reps` rounds), one request moves every folio.
final class BatchSizeRun {
    let run: BenchRun
    let batchSizes: [Int]

    init(run: BenchRun, batchSizes: [Int]) {
        self.run = run
        self.batchSizes = batchSizes
    }

    func measure() throws -> [BatchSizeCell] {
        let target = run.target
        let original = try target.knob("migration/batch_size")
        defer { try? target.setKnob("migration/batch_size", original) }
        var cells: [BatchSizeCell] = []
        for size in run.sizes {
            let (handles, count) = try run.allocateAndFill(size: size.bytes)
            defer { try? target.free(handles) }
            let pairs = run.settings.flatMap { setting in batchSizes.map { (setting, $0) } }
            var rates = Array(repeating: [Double](), count: pairs.count)
            var latencies = Array(repeating: [[UInt64]](), count: pairs.count)
            var tier = 0
            for round in 0..<run.reps {
                for (index, (setting, batchSize)) in pairs.enumerated() {
                    try run.apply(setting)
                    try target.setKnob("migration/batch_size", String(batchSize))
                    if round == 0 {
                        tier = 1 - tier
                        _ = try run.move(handles, to: tier)  // warm-up
                    }
                    try target.setKnob("migration/stats/batch_latency_ns", "0")
                    try target.setKnob("migration/stats/first_folio_ns", "0")
                    tier = 1 - tier
                    let (wall, _, _) = try run.move(handles, to: tier)
                    rates[index].append(Double(size.bytes * count) / Double(wall))
                    latencies[index].append(try summary("migration/stats/batch_latency_ns") + summary("migration/stats/first_folio_ns"))
                }
            }
            if tier != 0 { _ = try run.move(handles, to: 0) }
            for (index, (setting, batchSize)) in pairs.enumerated() {
                // Per round: batch p50, batch p99, first p50, first p99; the median of each.
                let figure = { (column: Int) in UInt64(median(latencies[index].map { Double($0[column]) })) }
                cells.append(BatchSizeCell(size: size.bytes, count: count, setting: setting, batchSize: batchSize, rates: rates[index],
                                           batchP50: figure(0), batchP99: figure(1), firstP50: figure(2), firstP99: figure(3)))
            }
        }
        return cells
    }

    /// The p50 and p99 a latency knob shows.
    private func summary(_ path: String) throws -> [UInt64] {
        let fields = try run.target.knob(path).split(separator: " ").compactMap { UInt64($0) }
        guard fields.count == 4 else { throw BenchError("\(path) reads '\(fields)'") }
        return [fields[0], fields[1]]
    }

    static func table(_ cells: [BatchSizeCell]) -> String {
        let header = ["size", "count", "migrator", "batch", "GB/s", "batch p50 µs", "batch p99 µs", "first folio p50 µs", "first p99 µs"]
        let micro = { (ns: UInt64) in fixed(Double(ns) / 1000, digits: 1) }
        let rows = cells.map { cell in
            [ByteSize(bytes: cell.size).description, String(cell.count), cell.setting.description, String(cell.batchSize), fixed(cell.gbps, digits: 2),
             micro(cell.batchP50), micro(cell.batchP99), micro(cell.firstP50), micro(cell.firstP99)]
        }
        return BenchReport.aligned([header] + rows, textColumns: 3).joined(separator: "\n") + "\n"
    }

    /// The same cells as comma-separated values, latencies in nanoseconds as the knobs give them.
    static func csv(_ cells: [BatchSizeCell]) -> String {
        let header = "size,count,migrator,batch_size,gbps,batch_p50_ns,batch_p99_ns,first_folio_p50_ns,first_folio_p99_ns"
        let rows = cells.map { cell in
            [ByteSize(bytes: cell.size).description, String(cell.count), cell.setting.description, String(cell.batchSize), fixed(cell.gbps, digits: 3),
             String(cell.batchP50), String(cell.batchP99), String(cell.firstP50), String(cell.firstP99)].joined(separator: ",")
        }
        return ([header] + rows).joined(separator: "\n") + "\n"
    }
}
