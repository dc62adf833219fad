import ArgumentParser
import FolioClient
import FolioLoad
import FolioProtocol
import Glibc
import SystemCalls

/// `foliobench`: the load tools of foliod (the benchmark, GUPS, the soak and the pin-protocol
/// exercise), a program of their own so that `folioctl`, the client, links nothing of the
/// daemon. The work is `FolioLoad`'s; these are its commands.
@main
struct Foliobench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "foliobench",
        abstract: "Put load on a running foliod: the migration benchmark, GUPS under the tiering policy, the soak and the pin-protocol exercise.",
        version: "foliobench \(FoliodVersion.release) (protocol \(MessageHeader.version))",
        subcommands: [Bench.self, Gups.self, Soak.self, Exercise.self]
    )

    @OptionGroup var options: ClientOptions
}

/// The options every subcommand takes (as `folioctl`'s).
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

/// Runs `body` with a connected client; a refusal prints `foliobench: …` and exits 1.
func withClient(_ options: ClientOptions, _ body: (FolioClient) throws -> Void) throws {
    do {
        try body(try FolioClient(socketPath: options.socket, spaceBytes: options.spaceBytes))
    } catch let error as FolioClientError {
        print("foliobench: \(error.message): \(error.errno) (\(error.errno.name))", to: &standardError)
        throw ExitCode.failure
    }
}

/// Runs a measuring command's `body`; a client or bench error is printed as
/// `foliobench COMMAND: error` and the command exits 1.
func reportingFailure(of command: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as FolioClientError {
        print("foliobench \(command): \(error)", to: &standardError)
        throw ExitCode.failure
    } catch let error as BenchError {
        print("foliobench \(command): \(error)", to: &standardError)
        throw ExitCode.failure
    }
}
