import SystemCalls

/// Blocks OS threads until `count` parties have arrived; the copy paths wait on one per batch.
/// (A condition variable, not Swift concurrency: copy workers are OS threads by design.)
final class CountdownLatch: @unchecked Sendable {
    private let condition = Condition()
    private var remaining: Int  // guarded by condition

    init(count: Int) {
        precondition(count >= 0)
        remaining = count
    }

    func countDown() {
        condition.lock()
        precondition(remaining > 0, "latch counted down past zero")
        remaining -= 1
        if remaining == 0 { condition.broadcast() }
        condition.unlock()
    }

    func wait() {
        condition.lock()
        while remaining > 0 { condition.wait() }
        condition.unlock()
    }

    /// Waits at most `timeout`; returns whether everyone arrived.
    func wait(timeout: Duration) -> Bool {
        let deadline = Condition.deadline(after: timeout)
        condition.lock()
        defer { condition.unlock() }
        while remaining > 0 {
            if !condition.wait(until: deadline) { return remaining == 0 }
        }
        return true
    }
}
