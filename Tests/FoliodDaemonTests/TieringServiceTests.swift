import FolioClient
import FolioMemory
import FoliodDaemon
import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Tiering

/// The tiering policy behind the socket: a client that allocates past the fast tier, writes
/// and verifies its folios through pins from several threads, while the daemon demotes and
/// promotes them.
@Suite(.serialized)
struct TieringServiceTests {
    static let config = """
        [daemon]
        log_level = "warning"

        [[tiers]]
        name = "fast"
        size = "8M"

        [[tiers]]
        name = "slow"
        size = "64M"

        [knobs]
        "tiering/enabled" = 1
        "tiering/aggregation_interval_ms" = 20
        "tiering/scan_period_ms" = 50
        "tiering/hot_threshold" = 4
        """

    @Test func aClientPastTheFastTier_keepsAllocating_andItsHotSetEndsInFast() throws {
        let core = try InProcessDaemon(config: Self.config)
        let client = try FolioClient(socketPath: core.socket)
        // 24 MiB of 64 KiB folios, three times the fast tier, all asked for in fast.
        let handles = try (0..<6).flatMap { _ in try client.allocate(tier: "fast", order: 4, count: 64) }
        #expect(handles.count == 384)
        for handle in handles { try client.withPinnedFolio(handle) { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        let hot = Array(handles[100..<164])  // 4 MiB: fits in fast with room to spare
        let lost = Atomic<Int>(0)
        // At least 3 s of clients, then until the hot set is in fast (a loaded machine takes
        // longer; 60 s is the most a run waits before the checks fail).
        let least = Date().addingTimeInterval(3), deadline = Date().addingTimeInterval(60)
        let converged: @Sendable () -> Bool = { hot.allSatisfy { client.tier(of: $0) == 0 } }
        // Two threads own half the hot set each and rewrite it; one verifies the cold rest.
        onThreads(3) { thread in
            let mine = thread < 2 ? hot.enumerated().filter { $0.offset % 2 == thread }.map(\.element) : handles.filter { !hot.contains($0) }
            var generation = [UInt8](repeating: 0, count: mine.count)
            while Date() < deadline && (Date() < least || !converged()) {
                for (index, handle) in mine.enumerated() {
                    let next = thread < 2 ? generation[index] &+ 1 : 0
                    let whole = (try? client.withPinnedFolio(handle) { bytes in
                        let words = bytes.bindMemory(to: UInt64.self)
                        let expected = UInt64(generation[index]) &* 0x0101_0101_0101_0101
                        let intact = words.allSatisfy { $0 == expected }
                        words.update(repeating: UInt64(next) &* 0x0101_0101_0101_0101)
                        return intact
                    }) ?? false
                    if !whole { lost.add(1, ordering: .relaxed) }
                    generation[index] = next
                }
            }
        }
        let inFast = hot.count { client.tier(of: $0) == 0 }
        let stats = try client.stats()
        #expect(lost.load(ordering: .relaxed) == 0, "every folio read back what was written last")
        #expect(inFast == hot.count, "the hot set is in fast: \(inFast) of \(hot.count)")
        #expect((stats["tiering.demoted"] ?? 0) >= 256, "at least the 16 MiB past fast went down")
        #expect((stats["tiering.promoted"] ?? 0) > 0)
    }

    @Test func theSpaceOfAClientThatLeaves_leavesThePolicysSight() throws {
        let core = try InProcessDaemon(config: Self.config)
        do {
            let client = try FolioClient(socketPath: core.socket)
            _ = try client.allocate(tier: "fast", order: 0, count: 1)
            #expect(core.node.tiering.trackedSpaces.count == 1)
        }
        // The client is gone: its session ends and its anonymous space is freed.
        let deadline = Date().addingTimeInterval(5)
        while !core.node.tiering.trackedSpaces.isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(core.node.tiering.trackedSpaces.isEmpty)
    }
}
