import ArgumentParser
import FolioCommandLine
import FolioLoad

/// `foliobench bench`: the kernel series' throughput tables, measured on this machine next to
/// its own memcpy ceiling (`BenchJob`).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure migration throughput by folio size and migrator setting, next to the machine's memcpy ceiling."
    )
    enum Format: String, ExpressibleByArgument { case table, csv }

    @ParentCommand var foliobench: Foliobench
    @Option(help: "Folio sizes, comma-separated.", transform: { try list($0) })
    var sizes: [ByteSize] = ["4K", "16K", "64K", "128K", "256K", "512K", "1M", "2M"].compactMap(ByteSize.init(argument:))
    @Option(help: "Bytes moved per size (or what fits the tiers).") var total = ByteSize(bytes: 1 << 30)
    @Option(help: "A fixed number of folios per size, instead of --total.") var count: Int?
    @Option(help: "Settings, comma-separated: kernel, mtcopy:N, dcbm:N, each optionally /tx0 or /tx1 (migration/transactional for it).", transform: { try list($0) })
    var migrators: [MigratorSetting] = ["kernel", "mtcopy:1", "mtcopy:2", "mtcopy:4", "dcbm:1", "dcbm:2", "dcbm:4"].compactMap(MigratorSetting.init(argument:))
    @Option(help: "Timed repetitions per cell.") var reps = 5
    @Flag(help: "Check every byte after each move.") var verify = false
    @Option(help: "The daemon's knob tree, to switch migrators as an operator would.") var mount = "mnt"
    @Flag(help: "Run the migration core in this process instead of through the daemon.") var inProcess = false
    @Option(help: "table or csv.") var format = Format.table
    @Option(help: "Also draw GB/s against folio size into this SVG file.") var plot: String?
    @Option(help: "Instead of the size table: GB/s and latencies per batch size, comma-separated (1–512).", transform: { try list($0) })
    var batchSizes: [Int] = []
    @Option(help: "Instead of the size table: this many threads read-pin the folios while they move, with migration/transactional 0 and 1 (1–64).")
    var readers = 0
    @Option(help: "Seconds each --readers cell lasts.") var readerSeconds = 1.0

    func validate() throws {
        try ArgumentRanges.check(reps, "--reps", in: 1...1000)
        // At most a space's folios: the batch, the ceiling's buffers and the byte counts fit.
        if let count { try ArgumentRanges.check(count, "--count", in: 1...BenchJob.maxCount) }
        try ArgumentRanges.check(readers, "--readers", in: 0...64)
        try ArgumentRanges.check(readerSeconds, "--reader-seconds", in: 0...600, positive: true)
        guard batchSizes.allSatisfy({ (1...512).contains($0) }) else { throw ValidationError("--batch-sizes are 1 to 512") }
    }

    func run() throws {
        try reportingFailure(of: "bench") {
            var job = BenchJob(socket: foliobench.options.socket, mount: mount, sizes: sizes, total: total, count: count, migrators: migrators,
                               reps: reps, verify: verify, inProcess: inProcess, csv: format == .csv, plot: plot, batchSizes: batchSizes)
            job.readers = readers
            job.readerSeconds = readerSeconds
            if try job.run() > 0 { throw ExitCode.failure }
        }
    }

    static func list<T: ExpressibleByArgument>(_ text: String) throws -> [T] {
        try text.split(separator: ",").map { item in
            guard let value = T(argument: String(item)) else { throw ValidationError("'\(item)' is not a valid value") }
            return value
        }
    }
}

// The library's types parse as `foliobench`'s options (`init(argument:)` is theirs).
extension ByteSize: ExpressibleByArgument {}
extension MigratorSetting: ExpressibleByArgument {}
