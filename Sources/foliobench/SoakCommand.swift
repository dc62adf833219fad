import ArgumentParser
import FolioCommandLine
import FolioLoad

/// `foliobench soak`: many sessions migrating at once while the knobs change under them, for a
/// bounded time; reports what was served, the latency of each request and every error (`SoakRun`).
struct Soak: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run many client sessions migrating concurrently while knobs change; exits 1 on any error."
    )
    @ParentCommand var foliobench: Foliobench
    @Option(help: "Concurrent sessions (one connection and address space each).") var sessions = 64
    @Option(help: "How long to run.") var seconds = 10.0
    @Option(help: "Folios per session.") var folios = 8
    @Option(help: "The knob tree to change while running (omit to leave the knobs alone).") var mount: String?

    func validate() throws {
        try ArgumentRanges.check(sessions, "--sessions", in: 1...4096)
        try ArgumentRanges.check(folios, "--folios", in: ArgumentRanges.folios)
        try ArgumentRanges.check(seconds, "--seconds", positive: true)
    }

    func run() throws {
        let run = SoakRun(socket: foliobench.options.socket, sessions: sessions, folios: folios, seconds: seconds)
        let report = try run.start(mount: mount)
        print(report.text)
        if report.errors > 0 { throw ExitCode.failure }
    }
}
