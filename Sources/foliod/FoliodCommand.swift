import ArgumentParser
import FolioProtocol
import FoliodDaemon

/// `foliod`: parses the command line and hands over to `Daemon`.
@main
struct FoliodCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "foliod",
        abstract: "The foliod folio migration daemon: mounts its knob tree and serves until SIGTERM.",
        version: "foliod \(FoliodVersion.release) (protocol \(MessageHeader.version))"
    )

    @Option(name: .long, help: "The TOML settings file.")
    var config: String?

    @Option(name: .long, help: "Check this settings file (tiers, knob lines, mount point, socket path) and exit: 0 if it is good.")
    var checkConfig: String?

    @Option(name: .long, help: "Where to mount the knob tree (overrides [daemon] mount).")
    var mount: String?

    @Option(name: .long, help: "The service's socket path (overrides [daemon] socket).")
    var socket: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (overrides [daemon] log_level).")
    var logLevel: String?

    mutating func run() throws {
        // Checked here, not in validate(): ArgumentParser validates before it reports an
        // unknown option, which would hide the real mistake behind this one.
        guard (config == nil) != (checkConfig == nil) else { throw ValidationError("give exactly one of --config PATH and --check-config PATH") }
        let options = Daemon.Options(configPath: config ?? checkConfig ?? "", checkOnly: checkConfig != nil, mount: mount, socket: socket, logLevel: logLevel)
        throw ExitCode(Daemon.run(options))
    }
}
