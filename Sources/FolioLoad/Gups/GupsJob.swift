import FolioClient

/// One `foliobench gups`: how fast the daemon's tiering policy finds a hot set and follows it
/// when it moves, for each migrator setting. It sets `tiering/enabled` for the run and puts it
/// back, prints a line per second and a summary per setting, and draws the plot if asked.
public struct GupsJob: Sendable {
    public var socket: String
    /// The daemon's knob tree.
    public var mount: String
    /// The working set, or nil for 1.5 × the fast tier.
    public var workingSet: ByteSize?
    /// The hot set, or nil for a quarter of the fast tier.
    public var hotSet: ByteSize?
    /// A power of two from 4K to 2M.
    public var folio: ByteSize
    /// Seconds per setting; the hot set moves halfway.
    public var seconds: Int
    /// Updating threads.
    public var threads: Int
    public var migrators: [MigratorSetting]
    /// An SVG file to draw the hot set's share over time into.
    public var plot: String?
    /// The share of updates that only read (0–1); above 0, each setting runs with
    /// `tiering/shadows` 1 and 0, to show the bytes shadows save.
    public var readRatio = 0.0

    public init(socket: String, mount: String, workingSet: ByteSize?, hotSet: ByteSize?, folio: ByteSize, seconds: Int, threads: Int,
                migrators: [MigratorSetting], plot: String?) {
        self.socket = socket
        self.mount = mount
        self.workingSet = workingSet
        self.hotSet = hotSet
        self.folio = folio
        self.seconds = seconds
        self.threads = threads
        self.migrators = migrators
        self.plot = plot
    }

    /// Runs every setting in turn. From here on SIGINT and SIGTERM stop the run at its next
    /// sample: it then prints what it measured, restores `tiering/enabled` and returns true.
    public func run() throws -> Bool {
        let tiers = try FolioClient(socketPath: socket).tiers
        guard tiers.count >= 2 else { throw BenchError("gups needs two tiers; the daemon has \(tiers.count)") }
        let fast = Int(tiers[0].sizeBytes)
        let gups = GupsRun(socket: socket, mount: mount, workingSet: workingSet?.bytes ?? fast / 2 * 3, hotSet: hotSet?.bytes ?? fast / 4,
                           folioOrder: folio.bytes.trailingZeroBitCount - 12, seconds: seconds, threads: threads, readRatio: readRatio)
        // Two disjoint hot sets of at least one folio each: the second is where it moves.
        guard gups.hotSet >= folio.bytes, 2 * (gups.hotSet / folio.bytes) <= gups.workingSet / folio.bytes else {
            throw BenchError("the hot set (\(ByteSize(bytes: gups.hotSet))) must hold a \(folio) folio at least, and the working set (\(ByteSize(bytes: gups.workingSet))) two hot sets: it moves to other folios halfway")
        }
        let enabled = try readKnob(mount + "/tiering/enabled")
        let shadows = try readKnob(mount + "/tiering/shadows")
        Interruption.catchSignals()
        try writeKnob(mount + "/tiering/enabled", "1")
        defer {
            try? writeKnob(mount + "/tiering/enabled", enabled)
            try? writeKnob(mount + "/tiering/shadows", shadows)
        }
        // Unbuffered, as the per-second lines are, so that the two keep their order.
        writeStandardOutput("working set \(ByteSize(bytes: gups.workingSet)) in \(folio) folios, hot set \(ByteSize(bytes: gups.hotSet)), "
            + "fast tier '\(tiers[0].name)' \(ByteSize(bytes: fast)); 90% of updates to the hot set, which moves at \(seconds / 2) s"
            + (readRatio > 0 ? "; \(fixed(readRatio * 100, digits: 0))% of updates read under a read pin" : "") + "\n"
            + speedNote(tiers.prefix(2).map(\.name)) + "\n\n" + GupsReport.header)
        var results: [GupsResult] = []
        let shadowSettings: [Bool?] = readRatio > 0 ? [true, false] : [nil]
        for setting in migrators {
            for shadows in shadowSettings where !Interruption.requested { results.append(try gups.run(setting, shadows: shadows)) }
        }
        writeStandardOutput("\n" + GupsReport.table(results))
        if let plot { try writeFileAtomically(plot, GupsReport.plot(results)) }
        if Interruption.requested {
            writeStandardOutput("interrupted: the figures above are what ran; tiering/enabled is back to \(enabled)\n")
            return true
        }
        return false
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
