import ArgumentParser
import FolioProtocol

/// `folioctl`: the command-line client of foliod.
@main
struct Folioctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folioctl",
        abstract: "Allocate, fill, migrate and check folios in a running foliod.",
        version: "folioctl \(FoliodVersion.release) (protocol \(MessageHeader.version))",
        subcommands: [Alloc.self, Fill.self, Verify.self, Migrate.self, Free.self, Destroy.self, Stat.self, Hold.self, Exercise.self, Bench.self, Gups.self, Watch.self, Soak.self]
    )

    @OptionGroup var options: ClientOptions
}

/// The options every subcommand takes.
struct ClientOptions: ParsableArguments {
    @Option(help: "The daemon's socket.")
    var socket = "run/foliod.sock"

    @Option(help: "A named address space, kept between commands (default: a new anonymous one).")
    var space: String?
}
