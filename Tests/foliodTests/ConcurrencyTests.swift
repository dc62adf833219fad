import FolioClient
import TestSupport
import Foundation
import Testing

/// Several client processes at once, a migrator switched by a shell loop, pins held too long,
/// and clients killed mid-work.
@Suite(.serialized)
struct ConcurrencyTests {
    @Test func clientsPinningAndMigrating_whileMigratorsSwitch_seeNoTornReadAndNoLostWrite() throws {
        let daemon = try RunningDaemon()
        let switcher = Process()
        switcher.executableURL = URL(fileURLWithPath: "/bin/sh")
        switcher.arguments = ["-c", "while :; do for m in mtcopy dcbm kernel; do echo $m > '\(daemon.mountpoint)/migration/offload_migrator'; sleep 0.02; done; done"]
        try switcher.run()
        defer { switcher.terminate() }
        let workers = try [
            ["exercise", "--tier", "fast", "--other", "slow", "--order", "4", "--count", "16", "--seconds", "3"],
            ["exercise", "--tier", "slow", "--other", "fast", "--order", "0", "--count", "64", "--seconds", "3"],
            ["exercise", "--tier", "fast", "--other", "slow", "--order", "9", "--count", "2", "--seconds", "3"],
        ].map { try daemon.foliobench($0) }
        for worker in workers {
            let output = (worker.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
            worker.waitUntilExit()
            let summary = String(decoding: output, as: UTF8.self)
            #expect(worker.terminationStatus == 0, "\(summary)")
            #expect(summary.contains("torn: 0"))
            #expect(!summary.contains("migrations: 0\n"))
        }
        #expect(daemon.knob("tiers/fast/free_bytes") == String(64 << 20))
        #expect(daemon.knob("tiers/slow/free_bytes") == String(64 << 20))
    }

    @Test func aFolioPinnedLongerThanTheUnmapPasses_comesBackEBUSYAndUnchanged() throws {
        let daemon = try RunningDaemon()
        let client = try daemon.client(space: "pinned")
        let handle = try client.allocate(tier: 0, order: 2, count: 1)[0]
        let result = try client.withPinnedFolio(handle) { folio -> (status: Int32, output: String) in
            folio.initializeMemory(as: UInt8.self, repeating: 0x5A)
            let run = try daemon.runFolioctl(["--space", "pinned", "migrate", "--to", "slow", "\(handle)"])
            return (run.status, run.output)
        }
        #expect(result.output == "\(handle) EBUSY\n")
        #expect(client.tier(of: handle) == 0)
        #expect(try client.withPinnedFolio(handle) { $0.allSatisfy { $0 == 0x5A } })
        #expect(daemon.knob("migration/stats/folios_busy") == "1")
        #expect(daemon.knob("tiers/slow/free_bytes") == String(64 << 20))
    }

    @Test func aClientKilledWhileWorking_leavesTheDaemonAndOthersFineAndItsMemoryFreed() throws {
        let daemon = try RunningDaemon()
        let bystander = try daemon.client()
        let kept = try bystander.allocate(tier: 0, order: 0, count: 4)
        let freeBefore = daemon.knob("tiers/fast/free_bytes")
        let victim = try daemon.foliobench(["exercise", "--tier", "fast", "--other", "slow", "--order", "9", "--count", "8", "--seconds", "30"])
        // Working once it holds memory (at most 10 s to get there).
        let working = { daemon.knob("tiers/fast/free_bytes") != freeBefore || daemon.knob("tiers/slow/free_bytes") != String(64 << 20) }
        var started = working()
        for _ in 0..<500 where !started {
            usleep(20_000)
            started = working()
        }
        #expect(started)
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        var freed = false
        for _ in 0..<100 where !freed {
            freed = daemon.knob("tiers/fast/free_bytes") == freeBefore && daemon.knob("tiers/slow/free_bytes") == String(64 << 20)
            if !freed { usleep(20_000) }
        }
        #expect(freed)
        #expect(try bystander.migrate(kept, to: 1).results == Array(repeating: .tier(1), count: 4))
        #expect(daemon.process.isRunning)
    }
}
