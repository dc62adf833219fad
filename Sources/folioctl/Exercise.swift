import ArgumentParser
import FolioClient
import Dispatch
import SystemCalls
import FoundationEssentials
import Glibc
import Synchronization

/// A workload that checks the pin protocol from outside: one thread pins each folio, checks it
/// holds exactly what was last written, writes the next generation and unpins, while another
/// migrates the same folios between two tiers. Any torn read or lost write is reported.
struct Exercise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pin, write and verify folios continuously while migrating them; exits 1 on any torn read or lost write."
    )
    @ParentCommand var folioctl: Folioctl
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
        try withClient(folioctl.options) { client in
            let tiers = [try client.tier(named: tier), try client.tier(named: other)]
            let handles = try client.allocate(tier: tiers[0], order: order, count: count)
            let outcome = try ExerciseRun(client: client, handles: handles, tiers: tiers, seconds: seconds).run()
            print(outcome.summary)
            failures = outcome.torn
        }
        if failures > 0 { throw ExitCode.failure }
    }
}

/// One run of the exercise, with its counters.
final class ExerciseRun: @unchecked Sendable {
    struct Outcome {
        var rounds = 0
        var migrations = 0
        var moved = 0
        var busy = 0
        var torn = 0

        var summary: String {
            "rounds: \(rounds)\nmigrations: \(migrations)\nfolios_moved: \(moved)\nfolios_busy: \(busy)\ntorn: \(torn)"
        }
    }

    private let client: FolioClient
    private let handles: [FolioHandle]
    private let tiers: [Int]
    private let seconds: Double
    private let stop = Atomic<Bool>(false)
    private var generations: [UInt64]  // touched by the pinning thread only, then read at the end

    init(client: FolioClient, handles: [FolioHandle], tiers: [Int], seconds: Double) {
        self.client = client
        self.handles = handles
        self.tiers = tiers
        self.seconds = seconds
        generations = Array(repeating: 1, count: handles.count)
    }

    func run() throws -> Outcome {
        for (index, handle) in handles.enumerated() {
            try client.withPinnedFolio(handle) { FolioPattern(seed: generations[index], handle: handle).fill($0) }
        }
        let pinner = Mutex(Outcome())
        let done = DispatchSemaphore(value: 0)
        try OSThread.spawn(name: "exercise-pin") { [self] in
            let outcome = pinAndCheck()
            pinner.withLock { $0 = outcome }
            done.signal()
        }
        var outcome = migrateUntilDone()
        done.wait()
        let checked = pinner.withLock { $0 }
        outcome.rounds = checked.rounds
        outcome.torn = checked.torn
        // Last look, after every migration ended: each folio holds its last generation.
        for (index, handle) in handles.enumerated() {
            let wrong = try client.withPinnedFolio(handle) { FolioPattern(seed: generations[index], handle: handle).mismatchedBytes($0) }
            if wrong > 0 { outcome.torn += 1 }
        }
        return outcome
    }

    private func pinAndCheck() -> Outcome {
        var outcome = Outcome()
        while !stop.load(ordering: .relaxed) {
            for (index, handle) in handles.enumerated() {
                let ok = (try? client.withPinnedFolio(handle) { folio -> Bool in
                    let intact = FolioPattern(seed: generations[index], handle: handle).mismatchedBytes(folio) == 0
                    FolioPattern(seed: generations[index] + 1, handle: handle).fill(folio)
                    return intact
                }) ?? false
                generations[index] += 1
                if !ok { outcome.torn += 1 }
            }
            outcome.rounds += 1
        }
        return outcome
    }

    private func migrateUntilDone() -> Outcome {
        var outcome = Outcome()
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var target = 1
        while ContinuousClock.now < deadline {
            guard let reply = try? client.migrate(handles, to: tiers[target]) else { break }
            outcome.migrations += 1
            outcome.moved += reply.results.count { $0 == .tier(tiers[target]) }
            outcome.busy += reply.results.count { $0 == .failed(.resourceBusy) }
            target = 1 - target
        }
        stop.store(true, ordering: .relaxed)
        return outcome
    }
}
