import ArgumentParser

/// `foliod`: parses the command line and hands over to `Daemon`.
@main
struct FoliodCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "foliod",
        abstract: "The foliod folio migration daemon: mounts its knob tree and serves until SIGTERM."
    )

    @Option(name: .long, help: "The TOML settings file.")
    var config: String

    @Option(name: .long, help: "Where to mount the knob tree (overrides [daemon] mount).")
    var mount: String?

    @Option(name: .long, help: "The service's socket path (overrides [daemon] socket).")
    var socket: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (overrides [daemon] log_level).")
    var logLevel: String?

    mutating func run() throws {
        let status = Daemon.run(configPath: config, mountOverride: mount, socketOverride: socket, logLevelOverride: logLevel)
        throw ExitCode(status)
    }
}
