import FolioClient
import Dispatch
import SystemCalls
import FoundationEssentials
import Synchronization

/// One run of the exercise (`foliobench exercise`), with its counters: a workload that checks
/// the pin protocol from outside. One thread pins each folio, checks it holds exactly what was
/// last written, writes the next generation and unpins, while another migrates the same folios
/// between two tiers. Any torn read or lost write is counted in `torn`.
public final class ExerciseRun: @unchecked Sendable {
    public struct Outcome: Sendable {
        public var rounds = 0
        public var migrations = 0
        public var moved = 0
        public var busy = 0
        public var torn = 0

        /// The counters as `key: value` lines.
        public var summary: String {
            "rounds: \(rounds)\nmigrations: \(migrations)\nfolios_moved: \(moved)\nfolios_busy: \(busy)\ntorn: \(torn)"
        }
    }

    private let client: FolioClient
    private let handles: [FolioHandle]
    private let tiers: [Int]
    private let seconds: Double
    private let stop = Atomic<Bool>(false)
    private var generations: [UInt64]  // touched by the pinning thread only, then read at the end

    /// `handles` start in `tiers[0]` and migrate to `tiers[1]` and back for `seconds`.
    public init(client: FolioClient, handles: [FolioHandle], tiers: [Int], seconds: Double) {
        self.client = client
        self.handles = handles
        self.tiers = tiers
        self.seconds = seconds
        generations = Array(repeating: 1, count: handles.count)
    }

    /// `count` new folios of `order` in the tier called `tier`, moving to and from `other`.
    public convenience init(client: FolioClient, tier: String, other: String, order: Int, count: Int, seconds: Double) throws {
        let tiers = [try client.tier(named: tier), try client.tier(named: other)]
        let handles = try client.allocate(tier: tiers[0], order: order, count: count)
        self.init(client: client, handles: handles, tiers: tiers, seconds: seconds)
    }

    public func run() throws -> Outcome {
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
            // Up is a promotion (a shadow stays behind), down a demotion: the pinner's writes
            // between them must reach the demoted folio.
            guard let reply = try? client.migrate(handles, to: tiers[target], reason: tiers[target] < tiers[1 - target] ? .promotion : .demotion) else { break }
            outcome.migrations += 1
            outcome.moved += reply.results.count { $0 == .tier(tiers[target]) }
            outcome.busy += reply.results.count { $0 == .failed(.resourceBusy) }
            target = 1 - target
        }
        stop.store(true, ordering: .relaxed)
        return outcome
    }
}
