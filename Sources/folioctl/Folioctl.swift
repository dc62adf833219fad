import ArgumentParser
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
        subcommands: [Alloc.self, Fill.self, Verify.self, Migrate.self, Free.self, Destroy.self, Stat.self, Hold.self, Watch.self]
    )

    @OptionGroup var options: ClientOptions
}

/// The options every subcommand takes.
struct ClientOptions: ParsableArguments {
    @Option(help: "The daemon's socket.")
    var socket = "run/foliod.sock"

    @Option(help: "A named address space, kept between commands (default: a new anonymous one).")
    var space: String?

    /// `--space` as the bytes the user typed. Swift decodes each argument as UTF-8, putting
    /// U+FFFD where it is not, so `$'\xff'` and `$'\xfe'` would name one space; the raw argv
    /// bytes go to the daemon instead, and its EINVAL answers an invalid name.
    var spaceBytes: [UInt8] {
        guard let space else { return [] }
        var raw: [[UInt8]] = []
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            raw.append(Array(UnsafeBufferPointer(start: UnsafeRawPointer(argument).assumingMemoryBound(to: UInt8.self), count: strlen(argument))))
        }
        let option = Array("--space".utf8)
        for (index, argument) in raw.enumerated() {
            if argument == option, index + 1 < raw.count, String(decoding: raw[index + 1], as: UTF8.self) == space { return raw[index + 1] }
            if argument.starts(with: option + [UInt8(ascii: "=")]) {
                let value = Array(argument.dropFirst(option.count + 1))
                if String(decoding: value, as: UTF8.self) == space { return value }
            }
        }
        return Array(space.utf8)
    }
}
