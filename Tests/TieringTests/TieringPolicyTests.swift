import FolioMemory
import FolioSharedMemory
import Foundation
import Migration
import Synchronization
import SystemPackage
import TestSupport
import Testing
@testable import Tiering

/// The placement policy in-process, stepped one pass at a time (`passNow`) on real memfd spaces.
struct TieringPolicyTests {
    static let twoMiB = 2 << 20

    @Test func allocate_thatWouldPassMin_demotesTheColdestFolioFirst() throws {
        let fixture = TieringFixture()
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let resident = try space.allocate(tier: 0, order: 9, count: 3)
        fixture.fill(space, resident)
        fixture.touch(space, [resident[0], resident[2]], times: 20)
        let added = try fixture.policy.allocate(in: space, tier: 0, order: 9, count: 1)
        #expect(fixture.tier(space, resident[1]) == 1, "the cold folio went down to make room")
        #expect(fixture.tier(space, resident[0]) == 0 && fixture.tier(space, resident[2]) == 0)
        #expect(fixture.tier(space, added[0]) == 0)
        #expect(fixture.fast.freeBytes >= fixture.fast.watermarks.current.min)
        #expect(fixture.policy.statistics[.demotedDirect] == 1)
        #expect(fixture.intact(space, resident))
    }

    @Test func allocate_pastTheSpacesQuota_isEDQUOTAndDemotesNothingForIt() throws {
        let fixture = TieringFixture()
        fixture.policy.enabled = true
        let other = try fixture.makeSpace()
        let resident = try other.allocate(tier: 0, order: 9, count: 3)
        fixture.fill(other, resident)
        let limited = try fixture.makeSpace(limits: SpaceLimits(bytes: Self.twoMiB))
        #expect(throws: Errno.diskQuotaExceeded) { try fixture.policy.allocate(in: limited, tier: 0, order: 9, count: 2) }
        #expect(resident.allSatisfy { fixture.tier(other, $0) == 0 }, "no folio of another space moved for a request that was refused")
        #expect(fixture.policy.statistics[.demotedDirect] == 0)
    }

    @Test func allocate_pastAFullTier_keepsSucceedingWhileTheTierBelowHasRoom() throws {
        let fixture = TieringFixture(fastBytes: 8 << 20, slowBytes: 16 << 20)
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        var handles: [Int] = []
        for _ in 0..<11 {
            let new = try fixture.policy.allocate(in: space, tier: 0, order: 9, count: 1)
            fixture.fill(space, new)
            handles += new
        }
        // 11 folios: 3 in fast (it keeps min free), 8 in slow, which is full now.
        #expect(handles.filter { fixture.tier(space, $0) == 0 }.count == 3)
        #expect(fixture.intact(space, handles))
        // Nothing below can take a folio: the 12th takes the min reserve (min only starts
        // demotion), the 13th finds no room at all.
        _ = try fixture.policy.allocate(in: space, tier: 0, order: 9, count: 1)
        #expect(throws: Errno.noMemory) { try fixture.policy.allocate(in: space, tier: 0, order: 9, count: 1) }
    }

    @Test func allocate_largerThanTheTier_fallsBackToTheTierBelow() throws {
        let fixture = TieringFixture(fastBytes: 8 << 20, slowBytes: 16 << 20)
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let handles = try fixture.policy.allocate(in: space, tier: 0, order: 9, count: 6)
        // Fast keeps its min reserve: 3 of its 4 blocks, the other 3 folios below.
        #expect(handles.map { fixture.tier(space, $0) } == [0, 0, 0, 1, 1, 1])
        fixture.fill(space, handles)
        #expect(fixture.intact(space, handles))
        // More than both tiers hold: nothing is taken.
        #expect(throws: Errno.noMemory) { try fixture.policy.allocate(in: space, tier: 0, order: 9, count: 8) }
        #expect(fixture.fast.freeBytes + fixture.slow.freeBytes == 12 << 20)
    }

    @Test func allocate_withThePolicyOff_failsAtAFullTier() throws {
        let fixture = TieringFixture()
        let space = try fixture.makeSpace()
        _ = try fixture.policy.allocate(in: space, tier: 0, order: 9, count: 4)
        #expect(throws: Errno.noMemory) { try fixture.policy.allocate(in: space, tier: 0, order: 9, count: 1) }
        #expect(fixture.policy.statistics[.demoted] == 0)
    }

    @Test func pass_belowLow_demotesColdestUntilHigh() throws {
        let fixture = TieringFixture()
        try fixture.write("tiers/fast/watermark_high", "\(5 << 20)")
        try fixture.write("tiers/fast/watermark_low", "\(3 << 20)")
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let handles = try space.allocate(tier: 0, order: 9, count: 4)
        fixture.fill(space, handles)
        for (rank, handle) in handles.enumerated() { fixture.touch(space, [handle], times: 10 * rank) }
        fixture.policy.passNow()
        #expect(handles.map { fixture.tier(space, $0) } == [1, 1, 1, 0], "the three coldest went, the hottest stayed")
        #expect(fixture.fast.freeBytes >= 5 << 20)
        #expect(fixture.policy.statistics[.demotedBytes] == UInt64(3 * Self.twoMiB))
        #expect(fixture.intact(space, handles))
        // Above low now: another pass moves nothing.
        fixture.policy.passNow()
        #expect(fixture.policy.statistics[.demoted] == 3)
    }

    @Test func pass_aboveLow_demotesNothing() throws {
        let fixture = TieringFixture()
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        _ = try space.allocate(tier: 0, order: 9, count: 3)
        fixture.policy.passNow()
        #expect(fixture.policy.statistics[.demoted] == 0)
        #expect(fixture.fast.freeBytes == Self.twoMiB)
    }

    @Test func pass_promotesHotFoliosOnly_andCountsHotBytes() throws {
        let fixture = TieringFixture()
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let handles = try space.allocate(tier: 1, order: 9, count: 3)
        fixture.fill(space, handles)
        fixture.touch(space, [handles[0], handles[2]], times: 8)
        fixture.touch(space, [handles[1]], times: 3)
        fixture.policy.passNow()
        #expect(handles.map { fixture.tier(space, $0) } == [0, 1, 0])
        #expect(fixture.slow.hotBytes == 2 * Self.twoMiB, "hot bytes are counted at aggregation, before the move")
        #expect(fixture.policy.statistics[.promotedBytes] == UInt64(2 * Self.twoMiB))
        #expect(fixture.intact(space, handles))
    }

    /// The policy's own moves keep and use shadows as explicit ones do: a folio it promoted
    /// and only read since goes back down to its shadow with no byte copied; one written
    /// since is copied, with the write.
    @Test func pass_promotionKeepsShadows_andTheDemotionOfACleanFolioCopiesNothing() throws {
        let fixture = TieringFixture()
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let handles = try space.allocate(tier: 1, order: 9, count: 2)
        let (clean, written) = (handles[0], handles[1])
        fixture.fill(space, [clean])
        #expect(fixture.rewrite(space, written, expected: 0, next: 5))
        fixture.touch(space, handles, times: 8, for: .read)
        fixture.policy.passNow()
        #expect(handles.map { fixture.tier(space, $0) } == [0, 0])
        #expect(fixture.slow.shadows.bytes == 2 * Self.twoMiB)
        #expect(fixture.rewrite(space, written, expected: 5, next: 6))
        let copied = fixture.core.pipeline.statistics[.bytesCopied]
        // Fast below low: both folios, cold by now, go down.
        try fixture.write("tiers/fast/watermark_high", "\(8 << 20)")
        try fixture.write("tiers/fast/watermark_low", "\(6 << 20)")
        fixture.policy.passNow()
        #expect(handles.map { fixture.tier(space, $0) } == [1, 1])
        #expect(fixture.slow.shadows.hits == 1)
        #expect(fixture.core.pipeline.statistics[.bytesCopied] == copied + UInt64(Self.twoMiB), "only the written folio was copied")
        #expect(try fixture.read("tiering/shadow_hits") == "1")
        #expect(fixture.intact(space, [clean]))
        #expect(fixture.rewrite(space, written, expected: 6, next: 7), "the write since the promotion reached the demoted copy")
    }

    @Test func pass_promotion_swapsColdFoliosOfTheFasterTierOut() throws {
        let fixture = TieringFixture()
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let cold = try space.allocate(tier: 0, order: 9, count: 3)
        let hot = try space.allocate(tier: 1, order: 9, count: 2)
        fixture.fill(space, cold + hot)
        fixture.touch(space, hot, times: 30)
        fixture.policy.passNow()
        #expect(hot.allSatisfy { fixture.tier(space, $0) == 0 })
        #expect(cold.filter { fixture.tier(space, $0) == 1 }.count == 2)
        #expect(fixture.fast.freeBytes >= fixture.fast.watermarks.current.high)
        #expect(fixture.intact(space, cold + hot))
    }

    @Test func pass_promotion_neverSwapsOutFoliosThatAreHotToo() throws {
        let fixture = TieringFixture()
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let warm = try space.allocate(tier: 0, order: 9, count: 3)
        let hot = try space.allocate(tier: 1, order: 9, count: 1)
        fixture.touch(space, warm, times: 10)
        fixture.touch(space, hot, times: 30)
        fixture.policy.passNow()
        #expect(warm.allSatisfy { fixture.tier(space, $0) == 0 }, "heat 10 ≥ threshold / 2: not a victim")
        #expect(fixture.tier(space, hot[0]) == 1)
    }

    @Test func pass_promotion_honoursTheRateLimitPerSecond() throws {
        let fixture = TieringFixture()
        try fixture.write("tiering/promote_rate_limit_MBps", "2")
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let handles = try space.allocate(tier: 1, order: 9, count: 3)
        // The passes' clock, stepped by the test: a second later without waiting one.
        let start = ContinuousClock.now
        fixture.touch(space, handles, times: 50)
        fixture.policy.passNow(at: start)
        #expect(handles.filter { fixture.tier(space, $0) == 0 }.count == 1, "2 MiB in the first second")
        fixture.policy.passNow(at: start + .milliseconds(500))
        #expect(fixture.policy.statistics[.promoted] == 1, "the window is spent")
        fixture.touch(space, handles, times: 50)
        fixture.policy.passNow(at: start + .milliseconds(1050))
        #expect(fixture.policy.statistics[.promoted] == 2)
        try fixture.write("tiering/promote_rate_limit_MBps", "0")
        fixture.touch(space, handles, times: 50)
        fixture.policy.passNow(at: start + .milliseconds(2100))
        #expect(fixture.policy.statistics[.promoted] == 2, "0 promotes nothing")
    }

    @Test func pass_leavesAPinnedFolio_andTakesTheNextColdest() throws {
        let fixture = TieringFixture()
        try fixture.write("tiers/fast/watermark_high", "\(3 << 20)")
        try fixture.write("tiers/fast/watermark_low", "\(1 << 20)")
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let handles = try space.allocate(tier: 0, order: 9, count: 4)
        fixture.touch(space, [handles[1]], times: 2)
        fixture.touch(space, [handles[2], handles[3]], times: 40)
        PinProtocol.pin(space.entry(handles[0]), in: fixture.pinTable(space))
        fixture.policy.passNow()
        #expect(fixture.tier(space, handles[0]) == 0, "held pinned: backed off")
        #expect(fixture.tier(space, handles[1]) == 1)
        #expect(fixture.core.pipeline.statistics[.foliosBusy] >= 1)
        PinProtocol.unpin(space.entry(handles[0]), in: fixture.pinTable(space))
    }

    @Test(arguments: [("all", 4), ("syscall,promotion", 0)])
    func policyMoves_goThroughTheMigratorSlot_andObeyTheReasonMask(mask: String, offloaded: Int) throws {
        let fixture = TieringFixture()
        try fixture.write("migration/offload_migrator", "mtcopy")
        try fixture.write("migration/reason_mask", mask)
        try fixture.write("tiers/fast/watermark_high", "\(8 << 20)")
        try fixture.write("tiers/fast/watermark_low", "\(8 << 20)")
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        let handles = try space.allocate(tier: 0, order: 9, count: 4)
        fixture.policy.passNow()
        #expect(handles.allSatisfy { fixture.tier(space, $0) == 1 })
        #expect(try fixture.read("mtcopy/folios_migrated") == "\(offloaded)", "demotions copied by mtcopy only where the mask lets them")
    }

    @Test func backgroundPass_withThePolicyOff_movesNothing() throws {
        let fixture = TieringFixture()
        let space = try fixture.makeSpace()
        let full = try space.allocate(tier: 0, order: 9, count: 4)
        let hot = try space.allocate(tier: 1, order: 9, count: 1)
        fixture.touch(space, hot, times: 50)
        _ = fixture.policy.backgroundPass()
        #expect(full.allSatisfy { fixture.tier(space, $0) == 0 } && fixture.tier(space, hot[0]) == 1)
        #expect(fixture.policy.statistics[.aggregations] == 0)
        fixture.policy.enabled = true
        _ = fixture.policy.backgroundPass()
        #expect(fixture.policy.statistics[.demoted] > 0, "the same pass with the policy on")
    }

    @Test func policyMoves_underClientsThatPinWriteAndVerify_loseNothing() throws {
        let fixture = TieringFixture(fastBytes: 2 << 20, slowBytes: 64 << 20)
        try fixture.write("tiering/aggregation_interval_ms", "20")
        try fixture.write("tiering/scan_period_ms", "20")
        try fixture.write("tiering/hot_threshold", "4")
        fixture.policy.enabled = true
        let space = try fixture.makeSpace()
        // 4 MiB of 16 KiB folios over a 2 MiB fast tier, which starts below its low watermark.
        let handles = try space.allocate(tier: 0, order: 2, count: 112) + space.allocate(tier: 1, order: 2, count: 144)
        for handle in handles { _ = fixture.rewrite(space, handle, expected: 0, next: 0) }
        try fixture.policy.start()
        let lost = Atomic<Int>(0)
        // At least 2 s of clients, then until the policy has moved folios both ways (a loaded
        // machine takes longer; 60 s is the most a run waits before the check fails).
        let least = Date().addingTimeInterval(2), deadline = Date().addingTimeInterval(60)
        let movedBothWays: @Sendable () -> Bool = { fixture.policy.statistics[.promoted] > 10 && fixture.policy.statistics[.demoted] > 10 }
        // Each thread owns half the folios and rewrites a hot set of them that drifts: a folio
        // must read back what its owner wrote last, whatever moved it in between.
        onThreads(2) { thread in
            let mine = handles.enumerated().filter { $0.offset % 2 == thread }.map(\.element)
            var generation = [UInt8](repeating: 0, count: mine.count)
            var round = 0
            while Date() < deadline && (Date() < least || !movedBothWays()) {
                let start = round / 16 % 96
                for index in start..<start + 32 {
                    if !fixture.rewrite(space, mine[index], expected: generation[index], next: generation[index] &+ 1) { lost.add(1, ordering: .relaxed) }
                    generation[index] &+= 1
                }
                round += 1
            }
        }
        fixture.policy.stop()
        #expect(lost.load(ordering: .relaxed) == 0)
        #expect(fixture.policy.statistics[.promoted] > 10 && fixture.policy.statistics[.demoted] > 10, "the policy moved folios both ways under the clients")
    }
}
