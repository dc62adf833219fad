import SystemCalls
import SystemPackage

/// The policy's background thread: runs a pass, sleeps until the pass asks for the next one or
/// `wake` is called, and ends on `stop`.
///
/// `@unchecked Sendable`: `state` and `woken` are touched only with `condition`'s mutex held.
final class TieringThread: @unchecked Sendable {
    private enum State { case stopped, running, stopping }

    private let condition = Condition()
    // Guarded by `condition`'s mutex.
    private var state = State.stopped
    private var woken = false

    /// Starts the thread, which calls `pass` until stopped; `pass` returns how long to sleep.
    /// A second start while running does nothing; EAGAIN when the system refuses the thread.
    func start(_ pass: @escaping @Sendable () -> Duration) throws(Errno) {
        condition.lock()
        defer { condition.unlock() }
        guard state == .stopped else { return }
        try OSThread.spawn(name: "foliod-tiering") { [self] in loop(pass) }
        state = .running
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
        if state == .running { state = .stopping }
        condition.broadcast()
        while state != .stopped { condition.wait() }
        condition.unlock()
    }

    private func loop(_ pass: @Sendable () -> Duration) {
        condition.lock()
        while state == .running {
            woken = false
            condition.unlock()
            let delay = pass()
            condition.lock()
            if state == .running && !woken { _ = condition.wait(until: Condition.deadline(after: delay)) }
        }
        state = .stopped
        condition.broadcast()
        condition.unlock()
    }
}
