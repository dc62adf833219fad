import ArgumentParser
import FolioCommandLine
import FolioProtocol
import Glibc

/// `folioctl`: the command-line client of foliod. The load tools (bench, gups, soak, exercise)
/// are `foliobench`'s, so this program links the client library and nothing of the daemon.
@main
struct Folioctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folioctl",
        abstract: "Allocate, fill, migrate and check folios in a running foliod.",
        version: "folioctl \(FoliodVersion.release) (protocol \(MessageHeader.version))",
        subcommands: [Alloc.self, Fill.self, Verify.self, Migrate.self, Free.self, Destroy.self, Stat.self, Ps.self, Top.self, Hold.self, Watch.self]
    )

    @OptionGroup var options: ClientOptions
}
