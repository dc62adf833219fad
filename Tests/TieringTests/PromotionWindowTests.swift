import Testing
@testable import Tiering

/// `promote_rate_limit_MBps` as `numa_promotion_rate_limit()` applies it: a window of one
/// second from the first pass after the last one ended; within it, the limit in MiB at most.
struct PromotionWindowTests {
    static let start = ContinuousClock.now
    static func at(_ offset: Duration) -> ContinuousClock.Instant { start + offset }
    static let mib = 1 << 20

    @Test(arguments: [(0, 0), (1, 1 << 20), (256, 256 << 20), (65536, 1 << 36), (Int(UInt32.max), Int(UInt32.max) << 20)] as [(Int, Int)])
    func aFreshWindow_offersTheWholeLimitInMiB(limitMBps: Int, bytes: Int) {
        var window = PromotionWindow(now: Self.start)
        #expect(window.available(now: Self.start, limitMBps: limitMBps) == bytes)
        #expect(window.available(now: Self.at(.milliseconds(999)), limitMBps: limitMBps) == bytes)
    }

    @Test(arguments: [(0, 4), (1, 3), (3, 1), (4, 0), (5, 0), (400, 0)] as [(Int, Int)])
    func spending_takesFromTheWindowAndNeverBelowZero(spentMiB: Int, leftMiB: Int) {
        var window = PromotionWindow(now: Self.start)
        _ = window.available(now: Self.start, limitMBps: 4)
        window.spend(spentMiB * Self.mib)
        #expect(window.available(now: Self.at(.milliseconds(500)), limitMBps: 4) == leftMiB * Self.mib)
    }

    /// Spent at 0 s, looked at later: until a second has passed nothing comes back.
    @Test(arguments: [
        (Duration.zero, 0), (.milliseconds(1), 0), (.milliseconds(500), 0), (.nanoseconds(999_999_999), 0),
        (.seconds(1), 8), (.milliseconds(1001), 8), (.seconds(3600), 8),
    ] as [(Duration, Int)])
    func aSpentWindow_refillsOneSecondAfterItStarted(later: Duration, availableMiB: Int) {
        var window = PromotionWindow(now: Self.start)
        #expect(window.available(now: Self.start, limitMBps: 8) == 8 * Self.mib)
        window.spend(8 * Self.mib)
        #expect(window.available(now: Self.at(later), limitMBps: 8) == availableMiB * Self.mib)
    }

    /// The next window starts at the first look after the last one ended, not on a grid of
    /// whole seconds: after a quiet 1.7 s, the window runs from 1.7 s to 2.7 s.
    @Test func theNextWindow_startsWhenItIsFirstAskedFor() {
        var window = PromotionWindow(now: Self.start)
        window.spend(2 * Self.mib)
        #expect(window.available(now: Self.at(.milliseconds(300)), limitMBps: 2) == 0)
        #expect(window.available(now: Self.at(.milliseconds(1700)), limitMBps: 2) == 2 * Self.mib)
        window.spend(2 * Self.mib)
        #expect(window.available(now: Self.at(.milliseconds(2000)), limitMBps: 2) == 0)
        #expect(window.available(now: Self.at(.milliseconds(2699)), limitMBps: 2) == 0)
        #expect(window.available(now: Self.at(.milliseconds(2700)), limitMBps: 2) == 2 * Self.mib)
    }

    @Test func aLimitChangedMidWindow_countsWhatWasAlreadySpent() {
        var window = PromotionWindow(now: Self.start)
        _ = window.available(now: Self.start, limitMBps: 4)
        window.spend(3 * Self.mib)
        #expect(window.available(now: Self.at(.milliseconds(100)), limitMBps: 16) == 13 * Self.mib)
        #expect(window.available(now: Self.at(.milliseconds(200)), limitMBps: 2) == 0)
        #expect(window.available(now: Self.at(.milliseconds(300)), limitMBps: 0) == 0)
    }

    /// A policy pass every `every`, each wanting to promote `wantMiB`: what reaches the fast
    /// tier in 10 s of passes.
    @Test(arguments: [
        // every, wanted per pass, limit, promoted in [0 s, 10 s)
        (Duration.milliseconds(100), 1, 4, 40),  // windows start at 0, 1, …, 9 s: 4 MiB each
        (.milliseconds(100), 3, 4, 40),  // a pass takes what is left (3 + 1)
        (.milliseconds(100), 1, 100, 100),  // below the limit: everything asked for
        (.milliseconds(250), 8, 16, 160),
        (.milliseconds(300), 4, 4, 36),  // windows at 0, 1.2, 2.4, …, 9.6 s: nine of them
        (.milliseconds(100), 5, 0, 0),
    ] as [(Duration, Int, Int, Int)])
    func passesOverTenSeconds_promoteAtMostTheLimitPerWindow(every: Duration, wantMiB: Int, limitMBps: Int, promotedMiB: Int) {
        var window = PromotionWindow(now: Self.start)
        var promoted = 0
        var now = Duration.zero
        while now < .seconds(10) {
            let take = min(wantMiB * Self.mib, window.available(now: Self.at(now), limitMBps: limitMBps))
            window.spend(take)
            promoted += take
            now += every
        }
        #expect(promoted == promotedMiB * Self.mib)
    }
}
