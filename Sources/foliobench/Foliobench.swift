import ArgumentParser
import FolioCommandLine
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
