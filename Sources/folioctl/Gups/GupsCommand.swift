import ArgumentParser
import FolioClient
import FoundationEssentials

/// `folioctl gups`: how fast the daemon's tiering policy finds a hot set and follows it when it
/// moves, for each migrator setting.
struct Gups: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a GUPS workload (a hot set in a larger working set, moved halfway) with the daemon's tiering policy on."
    )

    @ParentCommand var folioctl: Folioctl
    @Option(help: "The working set (default: 1.5 × the fast tier).") var workingSet: ByteSize?
    @Option(help: "The hot set (default: a quarter of the fast tier).") var hotSet: ByteSize?
    @Option(help: "Folio size, 4K to 2M.") var folio = ByteSize(bytes: 64 << 10)
    @Option(help: "Seconds per setting; the hot set moves halfway.") var seconds = 20
    @Option(help: "Updating threads.") var threads = 1
    @Option(help: "Settings, comma-separated: kernel, mtcopy:N, dcbm:N.", transform: { try Bench.list($0) })
    var migrators: [MigratorSetting] = ["kernel", "mtcopy:2", "dcbm:2"].compactMap(MigratorSetting.init(argument:))
    @Option(help: "The daemon's knob tree: tiering/enabled is set to 1 for the run and restored.") var mount = "mnt"
    @Option(help: "Also draw the hot set's share over time into this SVG file.") var plot: String?

    func validate() throws {
        try ArgumentRanges.check(seconds, "--seconds", in: 2...86400)
        guard (1...64).contains(threads) else { throw ValidationError("--threads is 1 to 64") }
        let order = folio.bytes.trailingZeroBitCount - 12
        guard folio.bytes.nonzeroBitCount == 1, (0...9).contains(order) else { throw ValidationError("--folio is a power of two from 4K to 2M") }
    }

    func run() throws {
        try reportingFailure(of: "gups") {
            let tiers = try FolioClient(socketPath: folioctl.options.socket).tiers
            guard tiers.count >= 2 else { throw BenchError("gups needs two tiers; the daemon has \(tiers.count)") }
            let fast = Int(tiers[0].sizeBytes)
            let gups = GupsRun(socket: folioctl.options.socket, mount: mount, workingSet: workingSet?.bytes ?? fast / 2 * 3, hotSet: hotSet?.bytes ?? fast / 4,
                               folioOrder: folio.bytes.trailingZeroBitCount - 12, seconds: seconds, threads: threads)
            // Two disjoint hot sets of at least one folio each: the second is where it moves.
            guard gups.hotSet >= folio.bytes, 2 * (gups.hotSet / folio.bytes) <= gups.workingSet / folio.bytes else {
                throw BenchError("the hot set (\(ByteSize(bytes: gups.hotSet))) must hold a \(folio) folio at least, and the working set (\(ByteSize(bytes: gups.workingSet))) two hot sets: it moves to other folios halfway")
            }
            let enabled = try readKnob(mount + "/tiering/enabled")
            Interruption.catchSignals()
            try writeKnob(mount + "/tiering/enabled", "1")
            defer { try? writeKnob(mount + "/tiering/enabled", enabled) }
            // Unbuffered, as the per-second lines are, so that the two keep their order.
            writeStandardOutput("working set \(ByteSize(bytes: gups.workingSet)) in \(folio) folios, hot set \(ByteSize(bytes: gups.hotSet)), "
                + "fast tier '\(tiers[0].name)' \(ByteSize(bytes: fast)); 90% of updates to the hot set, which moves at \(seconds / 2) s\n"
                + speedNote(tiers.prefix(2).map(\.name)) + "\n\n" + GupsReport.header)
            var results: [GupsResult] = []
            for setting in migrators where !Interruption.requested { results.append(try gups.run(setting)) }
            writeStandardOutput("\n" + GupsReport.table(results))
            if let plot { try writeFileAtomically(plot, GupsReport.plot(results)) }
            if Interruption.requested {
                writeStandardOutput("interrupted: the figures above are what ran; tiering/enabled is back to \(enabled)\n")
                throw ExitCode(130)
            }
        }
    }

    /// What the figures mean for these tiers: on the same memory (no NUMA node, or the same
    /// one, in `tiers/<name>/node`) the update rate cannot show a faster tier.
    private func speedNote(_ names: [String]) -> String {
        let nodes = names.map { (try? readKnob(mount + "/tiers/\($0)/node")) ?? "-1" }
        guard Set(nodes).count > 1 else {
            return "Both tiers here are the same memory: updates/s cannot show a faster tier, so the figures that matter are the time to re-converge and the bytes moved."
        }
        return "The tiers are on NUMA nodes \(nodes.joined(separator: " and ")): updates/s shows what placement is worth, next to the time to re-converge and the bytes moved."
    }
}
