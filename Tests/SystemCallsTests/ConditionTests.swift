import Glibc
import Synchronization
import Testing
@testable import SystemCalls

/// `Condition`'s deadlines (CLOCK_MONOTONIC timespecs) and its timed wait.
struct ConditionTests {
    static func monotonicNow() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now
    }

    static func nanoseconds(_ time: timespec) -> Int { time.tv_sec * 1_000_000_000 + time.tv_nsec }

    @Test(arguments: [
        // (now, duration, deadline): seconds and nanoseconds
        ((5, 400_000_000), Duration.milliseconds(500), (5, 900_000_000)),
        ((5, 500_000_000), .milliseconds(500), (6, 0)),
        ((5, 999_999_999), .nanoseconds(1), (6, 0)),
        ((1, 999_999_999), .nanoseconds(999_999_999), (2, 999_999_998)),
        ((0, 999_999_999), .nanoseconds(1_999_999_999), (2, 999_999_998)),
        ((7, 600_000_000), .seconds(3) + .milliseconds(700), (11, 300_000_000)),
        ((100, 0), .seconds(0), (100, 0)),
        ((100, 0), .seconds(86_400), (86_500, 0)),
        ((3, 250_000_000), .microseconds(1_750_000), (5, 0)),
        ((3, 10), Duration(secondsComponent: 0, attosecondsComponent: 999_999_999), (3, 10)),  // below a nanosecond: dropped
    ] as [((Int, Int), Duration, (Int, Int))])
    func deadline_addsTheDurationAndCarriesNanosecondsPastASecond(now: (Int, Int), duration: Duration, expected: (Int, Int)) {
        let deadline = Condition.deadline(after: duration, from: timespec(tv_sec: now.0, tv_nsec: now.1))
        #expect(deadline.time.tv_sec == expected.0)
        #expect(deadline.time.tv_nsec == expected.1)
        #expect((0..<1_000_000_000).contains(deadline.time.tv_nsec))
    }

    @Test(arguments: [Duration.zero, .nanoseconds(999_999_999), .milliseconds(1500), .seconds(2) + .nanoseconds(999_999_999)])
    func deadline_isTheDurationFromTheMonotonicClockNow(duration: Duration) {
        let before = Self.monotonicNow()
        let deadline = Condition.deadline(after: duration)
        let after = Self.monotonicNow()
        let offset = Int(duration.components.seconds) * 1_000_000_000 + Int(duration.components.attoseconds / 1_000_000_000)
        #expect((0..<1_000_000_000).contains(deadline.time.tv_nsec))
        #expect(Self.nanoseconds(deadline.time) >= Self.nanoseconds(before) + offset)
        #expect(Self.nanoseconds(deadline.time) <= Self.nanoseconds(after) + offset)
    }

    @Test(arguments: [Duration.milliseconds(20), .milliseconds(120)])
    func wait_isFalseWhenTheDeadlinePassesUnsignalled(timeout: Duration) {
        let condition = Condition()
        let start = ContinuousClock.now
        condition.lock()
        let deadline = Condition.deadline(after: timeout)
        // A spurious wake-up returns true before the deadline: wait again, as every caller does.
        var signalled = true
        while signalled && ContinuousClock.now - start < timeout + .seconds(5) { signalled = condition.wait(until: deadline) }
        condition.unlock()
        #expect(!signalled)
        #expect(ContinuousClock.now - start >= timeout)
    }

    @Test func wait_isFalseAtOnceForADeadlineAlreadyPast() {
        let condition = Condition()
        let deadline = Condition.deadline(after: .zero)
        let start = ContinuousClock.now
        condition.lock()
        let signalled = condition.wait(until: deadline)
        condition.unlock()
        #expect(!signalled)
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test(arguments: [false, true])
    func wait_isTrueWhenSignalledBeforeTheDeadline(broadcast: Bool) throws {
        let condition = Condition()
        let done = Mutex(false)
        let start = ContinuousClock.now
        condition.lock()
        // The thread can take the lock only once the waiter is inside pthread_cond_timedwait.
        try OSThread.spawn(name: "condition-test") {
            condition.lock()
            done.withLock { $0 = true }
            if broadcast { condition.broadcast() } else { condition.signal() }
            condition.unlock()
        }
        let deadline = Condition.deadline(after: .seconds(30))
        var signalled = false
        while !done.withLock({ $0 }) {
            signalled = condition.wait(until: deadline)
            if !signalled { break }
        }
        condition.unlock()
        #expect(signalled)
        #expect(done.withLock { $0 })
        #expect(ContinuousClock.now - start < .seconds(30))
    }
}
