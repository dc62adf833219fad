import ArgumentParser
import FolioCommandLine
import FolioLoad

/// `foliobench exercise`: a workload that checks the pin protocol from outside: one thread pins
/// each folio, checks it holds exactly what was last written, writes the next generation and
/// unpins, while another migrates the same folios between two tiers (`ExerciseRun`). Any torn
/// read or lost write is reported.
struct Exercise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pin, write and verify folios continuously while migrating them; exits 1 on any torn read or lost write."
    )
    @ParentCommand var foliobench: Foliobench
    @Option(help: "The tier the folios start in.") var tier: String
    @Option(help: "The tier they migrate to and back from.") var other: String
    @Option(help: "The folio order.") var order = 4
    @Option(help: "How many folios.") var count = 16
    @Option(help: "How long to run.") var seconds = 3.0

    func validate() throws {
        try ArgumentRanges.check(count, "--count", in: ArgumentRanges.folios)
        try ArgumentRanges.check(order, "--order", in: ArgumentRanges.order)
        try ArgumentRanges.check(seconds, "--seconds", positive: true)
    }

    func run() throws {
        var failures = 0
        try foliobench.options.withClient(program: "foliobench") { client in
            let outcome = try ExerciseRun(client: client, tier: tier, other: other, order: order, count: count, seconds: seconds).run()
            print(outcome.summary)
            failures = outcome.torn
        }
        if failures > 0 { throw ExitCode.failure }
    }
}
