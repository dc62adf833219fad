import Dispatch
import Synchronization
import SystemCalls
import Testing
@testable import FolioService

/// `LogThrottle` reads `ContinuousClock.now` itself, so the windows here are real time: an
/// hour where nothing may pass, half a second where a window must end.
struct LogThrottleTests {
    @Test(arguments: [1, 2, 10, 1000])
    func withinTheInterval_onlyTheFirstLineOfAKindPasses(lines: Int) {
        let throttle = LogThrottle(interval: .seconds(3600))
        #expect(throttle.admit("refused") == (true, 0))
        for _ in 1..<lines { #expect(throttle.admit("refused") == (false, 0)) }
        #expect(throttle.admit("accept failed") == (true, 0), "each kind has a window of its own")
        #expect(throttle.admit("accept failed") == (false, 0))
        #expect(throttle.admit("refused") == (false, 0))
    }

    @Test func aZeroInterval_letsEveryLineThrough() {
        let throttle = LogThrottle(interval: .zero)
        for _ in 0..<100 { #expect(throttle.admit("refused") == (true, 0)) }
    }

    /// The first line after a window says how many were held back in it: the count of refusals
    /// actually seen (a stalled machine may end a window early; the count must still agree).
    @Test(arguments: [1, 5, 200])
    func theFirstLineAfterAWindow_countsTheLinesHeldBack(held: Int) {
        let interval = Duration.milliseconds(500)
        let throttle = LogThrottle(interval: interval)
        #expect(throttle.admit("refused") == (true, 0))
        var refused = 0
        for _ in 0..<held {
            let (allowed, suppressed) = throttle.admit("refused")
            if allowed {
                #expect(suppressed == refused)
                refused = 0
            } else {
                refused += 1
            }
        }
        #expect(refused > 0 || held < 2, "a few calls in a row fit in half a second")
        OSThread.sleep(interval + .milliseconds(100))
        #expect(throttle.admit("refused") == (true, refused))
        // The new window starts counting from zero.
        let next = throttle.admit("refused")
        if !next.allowed {
            OSThread.sleep(interval + .milliseconds(100))
            #expect(throttle.admit("refused") == (true, 1))
        }
    }

    /// From many threads at once, every refusal is reported exactly once by a later line.
    @Test func concurrentLines_areEachCountedOnce() {
        let throttle = LogThrottle(interval: .milliseconds(200))
        let threads = 4
        let perThread = 5000
        let totals = Mutex((refused: 0, reported: 0, allowed: 0))
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var refused = 0, reported = 0, allowed = 0
            for _ in 0..<perThread {
                let (passed, suppressed) = throttle.admit("flood")
                if passed {
                    allowed += 1
                    reported += suppressed
                } else {
                    refused += 1
                }
            }
            totals.withLock { $0 = ($0.refused + refused, $0.reported + reported, $0.allowed + allowed) }
        }
        OSThread.sleep(.milliseconds(300))
        let last = throttle.admit("flood")
        #expect(last.allowed)
        let total = totals.withLock { $0 }
        #expect(total.allowed + total.refused == threads * perThread)
        #expect(total.refused > 0)
        #expect(total.reported + last.suppressed == total.refused)
    }
}
