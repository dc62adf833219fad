import Dispatch
import FolioClient
import FolioProtocol
import FoundationEssentials
import Synchronization
import SystemCalls

/// One second of a GUPS run.
struct GupsSecond {
    var second: Int
    var updates: Int
    /// Share of the current hot set's folios in the fastest tier, 0–1.
    var hotShare: Double
    var demotedBytes: UInt64
    var promotedBytes: UInt64
}

/// A GUPS run for one migrator setting.
struct GupsResult {
    var setting: MigratorSetting
    var seconds: [GupsSecond]
    /// The second the hot set moved.
    var movedAt: Int
    /// Seconds from the move until the new hot set's share reached `GupsRun.converged`, or nil.
    var convergence: Double?
    /// The hot set's share every 0.1 s: (seconds since the start, share 0–1).
    var trace: [(time: Double, share: Double)]
    /// `tiering/shadows` for the run, if the run set it.
    var shadows: Bool?
    /// What the migrations copied (`bytes_copied`) and the moves a shadow served instead.
    var bytesCopied: UInt64
    var shadowHits: UInt64
}

/// HeMem's GUPS shape against a running daemon with its tiering policy on: a working set
/// larger than the fast tier, a hot set that fits it, about 90% of the updates to the hot set
/// (each update pins a random folio and xors a random word of it, or, for `readRatio` of them,
/// read-pins it and reads the word), and the hot set moved to other folios halfway through.
struct GupsRun {
    /// The hot set's share in the fast tier that counts as converged.
    static let converged = 0.9

    let socket: String
    let mount: String
    let workingSet: Int
    let hotSet: Int
    let folioOrder: Int
    let seconds: Int
    let threads: Int
    /// The share of updates that only read (0–1).
    var readRatio = 0.0

    func run(_ setting: MigratorSetting, shadows: Bool? = nil) throws -> GupsResult {
        if let shadows { try writeKnob(mount + "/tiering/shadows", shadows ? "1" : "0") }
        for (path, value) in setting.knobWrites { try writeKnob(mount + "/" + path, value) }
        let client = try FolioClient(socketPath: socket)
        defer { try? client.destroy() }
        let folioBytes = 4096 << folioOrder
        let all = try allocate(client, count: workingSet / folioBytes)
        var random = SplitMix(seed: 42)
        let shuffled = all.indices.shuffled(using: &random)
        let hotCount = hotSet / folioBytes
        // Two disjoint hot sets: the first half of the run uses one, the second the other.
        let hotSets = [shuffled.prefix(hotCount).map { all[$0] }, shuffled.dropFirst(hotCount).prefix(hotCount).map { all[$0] }]
        let shared = GupsShared()
        let done = DispatchSemaphore(value: 0)
        var started = 0
        defer {
            shared.running.store(false, ordering: .relaxed)
            for _ in 0..<started { done.wait() }
        }
        for thread in 0..<threads {
            try OSThread.spawn(name: "gups-\(thread)") {
                update(client, all: all, hotSets: hotSets, shared: shared, readRatio: readRatio, seed: UInt64(thread + 1))
                done.signal()
            }
            started += 1
        }
        var result = try measure(client, setting: setting, hotSets: hotSets, shared: shared)
        result.shadows = shadows
        return result
    }

    /// Samples once a second, and the hot set's share ten times a second (so convergence is
    /// timed to 0.1 s); moves the hot set halfway. Ends early, with the seconds it has, once
    /// `Interruption.requested`.
    private func measure(_ client: FolioClient, setting: MigratorSetting, hotSets: [[FolioHandle]], shared: GupsShared) throws -> GupsResult {
        var samples: [GupsSecond] = []
        var last = try (client.stats(), shared.updates.load(ordering: .relaxed))
        let first = last.0
        let movedAt = seconds / 2
        var convergence: Double?
        var trace: [(time: Double, share: Double)] = []
        let start = ContinuousClock.now
        func share() -> Double {
            let current = hotSets[shared.phase.load(ordering: .relaxed)]
            return Double(current.count { client.tier(of: $0) == 0 }) / Double(current.count)
        }
        for second in 1...seconds where !Interruption.requested {
            for tick in 1...10 {
                OSThread.sleep(start + .milliseconds(second * 1000 - 1000 + tick * 100) - ContinuousClock.now)
                let time = Double(second - 1) + Double(tick) / 10
                trace.append((time, share()))
                if second > movedAt, convergence == nil, trace.last!.share >= Self.converged { convergence = time - Double(movedAt) }
            }
            let now = try (client.stats(), shared.updates.load(ordering: .relaxed))
            let sample = GupsSecond(second: second, updates: now.1 - last.1, hotShare: trace.last!.share,
                                    demotedBytes: counter(now.0, last.0, "tiering.demoted_bytes"), promotedBytes: counter(now.0, last.0, "tiering.promoted_bytes"))
            samples.append(sample)
            writeStandardOutput(GupsReport.line(setting, sample))
            if second == movedAt { shared.phase.store(1, ordering: .relaxed) }
            last = now
        }
        return GupsResult(setting: setting, seconds: samples, movedAt: movedAt, convergence: convergence, trace: trace, shadows: nil,
                          bytesCopied: counter(last.0, first, "bytes_copied"), shadowHits: counter(last.0, first, "tiering.shadow_hits"))
    }

    /// The working set, allocated in the fast tier as a program would: past its size, the
    /// daemon's policy demotes to make room.
    private func allocate(_ client: FolioClient, count: Int) throws -> [FolioHandle] {
        var handles: [FolioHandle] = []
        while handles.count < count {
            handles += try client.allocate(tier: 0, order: folioOrder, count: min(1024, count - handles.count))
        }
        return handles
    }

    private func counter(_ now: FolioStats, _ last: FolioStats, _ name: String) -> UInt64 {
        (now[name] ?? 0) &- (last[name] ?? 0)
    }
}

/// What the updating threads and the sampler share.
private final class GupsShared: Sendable {
    /// Which hot set is current: 0, then 1 after the move.
    let phase = Atomic<Int>(0)
    let updates = Atomic<Int>(0)
    let running = Atomic<Bool>(true)
}

/// The updater: 90% of the updates to the current hot set, 10% anywhere; `readRatio` of them
/// read a word under a read pin instead of changing it under a write pin.
private func update(_ client: FolioClient, all: [FolioHandle], hotSets: [[FolioHandle]], shared: GupsShared, readRatio: Double, seed: UInt64) {
    var random = SplitMix(seed: seed)
    let reads = UInt64(readRatio * 1024)
    var sink: UInt64 = 0
    defer { withExtendedLifetime(sink) {} }
    while shared.running.load(ordering: .relaxed) {
        let hot = hotSets[shared.phase.load(ordering: .relaxed)]
        for _ in 0..<4096 {
            let word = random.next()
            let handle = word % 10 < 9 ? hot[Int((word >> 8) % UInt64(hot.count))] : all[Int((word >> 8) % UInt64(all.count))]
            if reads > 0, random.next() & 1023 < reads {
                sink ^= (try? client.withReadPinnedFolio(handle) { bytes in
                    bytes.load(fromByteOffset: Int((word >> 32) % UInt64(bytes.count / 8)) * 8, as: UInt64.self)
                }) ?? 0
                continue
            }
            _ = try? client.withPinnedFolio(handle) { bytes in
                let offset = Int((word >> 32) % UInt64(bytes.count / 8)) * 8
                bytes.storeBytes(of: bytes.load(fromByteOffset: offset, as: UInt64.self) ^ word, toByteOffset: offset, as: UInt64.self)
            }
        }
        shared.updates.add(4096, ordering: .relaxed)
    }
}
