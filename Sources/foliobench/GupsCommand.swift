import ArgumentParser
import FolioCommandLine
import FolioLoad

/// `foliobench gups`: how fast the daemon's tiering policy finds a hot set and follows it when
/// it moves, for each migrator setting (`GupsJob`).
struct Gups: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a GUPS workload (a hot set in a larger working set, moved halfway) with the daemon's tiering policy on."
    )

    @ParentCommand var foliobench: Foliobench
    @Option(help: "The working set (default: 1.5 × the fast tier).") var workingSet: ByteSize?
    @Option(help: "The hot set (default: a quarter of the fast tier).") var hotSet: ByteSize?
    @Option(help: "Folio size, 4K to 2M.") var folio = ByteSize(bytes: 64 << 10)
    @Option(help: "Seconds per setting; the hot set moves halfway.") var seconds = 20
    @Option(help: "Updating threads.") var threads = 1
    @Option(help: "Settings, comma-separated: kernel, mtcopy:N, dcbm:N.", transform: { try Bench.list($0) })
    var migrators: [MigratorSetting] = ["kernel", "mtcopy:2", "dcbm:2"].compactMap(MigratorSetting.init(argument:))
    @Option(help: "The daemon's knob tree: tiering/enabled is set to 1 for the run and restored.") var mount = "mnt"
    @Option(help: "Also draw the hot set's share over time into this SVG file.") var plot: String?
    @Option(help: "The share of updates that only read, under a read pin (0–1); above 0 each setting runs with tiering/shadows 1 and 0.")
    var readRatio = 0.0

    func validate() throws {
        try ArgumentRanges.check(seconds, "--seconds", in: 2...86400)
        try ArgumentRanges.check(readRatio, "--read-ratio", in: 0...1)
        guard (1...64).contains(threads) else { throw ValidationError("--threads is 1 to 64") }
        let order = folio.bytes.trailingZeroBitCount - 12
        guard folio.bytes.nonzeroBitCount == 1, (0...9).contains(order) else { throw ValidationError("--folio is a power of two from 4K to 2M") }
    }

    func run() throws {
        try reportingFailure(of: "gups") {
            var job = GupsJob(socket: foliobench.options.socket, mount: mount, workingSet: workingSet, hotSet: hotSet, folio: folio,
                              seconds: seconds, threads: threads, migrators: migrators, plot: plot)
            job.readRatio = readRatio
            if try job.run() { throw ExitCode(130) }
        }
    }
}
