import ArgumentParser
import FolioClient
import Glibc
import SystemCalls
import SystemPackage

/// The options every subcommand of `folioctl` and `foliobench` takes.
public struct ClientOptions: ParsableArguments {
    @Option(help: "The daemon's socket.")
    public var socket = "run/foliod.sock"

    @Option(help: "A named address space, kept between commands (default: a new anonymous one).")
    public var space: String?

    public init() {}

    /// `--space` as the bytes the user typed. Swift decodes each argument as UTF-8, putting
    /// U+FFFD where it is not, so `$'\xff'` and `$'\xfe'` would name one space; the raw argv
    /// bytes go to the daemon instead, and its EINVAL answers an invalid name. The last
    /// `--space` counts, as for the parser.
    public var spaceBytes: [UInt8] {
        guard let space else { return [] }
        var raw: [[UInt8]] = []
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            raw.append(Array(UnsafeBufferPointer(start: UnsafeRawPointer(argument).assumingMemoryBound(to: UInt8.self), count: strlen(argument))))
        }
        let option = Array("--space".utf8)
        for (index, argument) in raw.enumerated().reversed() {
            if argument == option, index + 1 < raw.count, String(decoding: raw[index + 1], as: UTF8.self) == space { return raw[index + 1] }
            if argument.starts(with: option + [UInt8(ascii: "=")]) {
                let value = Array(argument.dropFirst(option.count + 1))
                if String(decoding: value, as: UTF8.self) == space { return value }
            }
        }
        return Array(space.utf8)
    }

    /// Runs `body` with a client connected and attached as the options say; a refusal prints
    /// `PROGRAM: what: errno (NAME)` on standard error and exits 1.
    public func withClient(program: String, _ body: (FolioClient) throws -> Void) throws {
        do {
            try body(try FolioClient(socketPath: socket, spaceBytes: spaceBytes))
        } catch let error as FolioClientError {
            _ = try? FileDescriptor.standardError.writeAll("\(program): \(error.message): \(error.errno) (\(error.errno.name))\n".utf8)
            throw ExitCode.failure
        }
    }
}
