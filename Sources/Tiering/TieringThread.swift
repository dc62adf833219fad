import SystemCalls
import SystemPackage

/// The policy's background thread: runs a pass, sleeps until the pass asks for the next one or
/// `wake` is called, and ends on `stop`.
final class TieringThread: @unchecked Sendable {
    private let condition = Condition()
    // Guarded by `condition`'s mutex.
    private var running = false
    private var woken = false
    private var finished = true

    /// Starts the thread, which calls `pass` until stopped; `pass` returns how long to sleep.
    /// A second start while running does nothing; EAGAIN when the system refuses the thread.
    func start(_ pass: @escaping @Sendable () -> Duration) throws(Errno) {
        condition.lock()
        defer { condition.unlock() }
        guard !running, finished else { return }
        try OSThread.spawn(name: "foliod-tiering") { [self] in loop(pass) }
        running = true
        finished = false
    }

    func wake() {
        condition.lock()
        woken = true
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread after the pass in progress.
    func stop() {
        condition.lock()
        running = false
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func loop(_ pass: @Sendable () -> Duration) {
        condition.lock()
        while running {
            woken = false
            condition.unlock()
            let delay = pass()
            condition.lock()
            if running && !woken { _ = condition.wait(until: Condition.deadline(after: delay)) }
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
