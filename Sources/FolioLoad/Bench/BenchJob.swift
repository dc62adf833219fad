/// One `foliobench bench`: the kernel series' throughput tables, measured on this machine next
/// to its own memcpy ceiling, through a running daemon or with the migration core in this
/// process; or, with `batchSizes`, GB/s and latencies per batch size. The table (or CSV) goes
/// to standard output, progress lines to standard error.
public struct BenchJob: Sendable {
    /// The most folios `count` may ask for: one space's table.
    public static let maxCount = BenchRun.maxFolios

    /// The daemon's socket and knob tree (unused with `inProcess`).
    public var socket: String
    public var mount: String
    public var sizes: [ByteSize]
    /// Bytes moved per size (or what fits the tiers).
    public var total: ByteSize
    /// A fixed number of folios per size, instead of `total`.
    public var count: Int?
    public var migrators: [MigratorSetting]
    /// Timed repetitions per cell.
    public var reps: Int
    /// Check every byte after each move.
    public var verify: Bool
    /// Run the migration core in this process instead of through the daemon.
    public var inProcess: Bool
    /// CSV instead of the table.
    public var csv: Bool
    /// An SVG file to draw the figures into.
    public var plot: String?
    /// Instead of the size table: GB/s and latencies per batch size (1–512).
    public var batchSizes: [Int]
    /// Instead of the size table: this many threads read-pin the folios while they move, each
    /// setting with `migration/transactional` 0 and 1, for `readerSeconds` a cell.
    public var readers = 0
    public var readerSeconds = 1.0

    public init(socket: String, mount: String, sizes: [ByteSize], total: ByteSize, count: Int?, migrators: [MigratorSetting], reps: Int,
                verify: Bool, inProcess: Bool, csv: Bool, plot: String?, batchSizes: [Int]) {
        self.socket = socket
        self.mount = mount
        self.sizes = sizes
        self.total = total
        self.count = count
        self.migrators = migrators
        self.reps = reps
        self.verify = verify
        self.inProcess = inProcess
        self.csv = csv
        self.plot = plot
        self.batchSizes = batchSizes
    }

    /// Measures and prints; the folios `verify` found wrong after a move (0 without it).
    public func run() throws -> Int {
        let target: any BenchTarget = inProcess
            ? try InProcessBenchTarget(tierBytes: max(total.bytes, (count ?? 0) * (sizes.map(\.bytes).max() ?? 0)) / 2 * 2 + (64 << 20))
            : try DaemonBenchTarget(socket: socket, mount: mount)
        let run = BenchRun(target: target, sizes: sizes, settings: migrators, totalBytes: total.bytes, fixedCount: count, reps: reps, verify: verify)
        // A setting with /tx0 or /tx1, and the reader cells, change migration/transactional:
        // put it back afterwards.
        let changesTransactional = readers > 0 || migrators.contains { $0.transactional != nil }
        let transactional = changesTransactional ? try target.knob("migration/transactional") : nil
        defer { if let transactional { try? target.setKnob("migration/transactional", transactional) } }
        if readers > 0 {
            let cells = try ReaderRun(run: run, readers: readers, seconds: readerSeconds).measure()
            print(BenchReport.machine(try target.pageKind(tier: 1), rounds: 1) + "\n")
            print(ReaderRun.table(cells, readers: readers), terminator: "")
            return cells.reduce(0) { $0 + Int($1.wrong) }
        }
        if !batchSizes.isEmpty {
            let cells = try BatchSizeRun(run: run, batchSizes: batchSizes).measure()
            if csv {
                print(BatchSizeRun.csv(cells), terminator: "")
            } else {
                print(BenchReport.machine(try target.pageKind(tier: 1), rounds: reps) + "\n")
                print(BatchSizeRun.table(cells), terminator: "")
            }
            if let plot { try writeFileAtomically(plot, BenchPlot.batchSizes(cells)) }
            return 0
        }
        let cells = try run.run()
        print(csv ? BenchReport.csv(cells) : BenchReport.table(cells), terminator: "")
        if let plot { try writeFileAtomically(plot, BenchPlot.svg(cells)) }
        return cells.reduce(0) { $0 + $1.verifyErrors }
    }
}
