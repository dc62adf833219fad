/// The daemon's one owner of signals: blocks them in every thread (threads inherit the mask
/// from the main thread, which blocks them before starting any) and takes them one at a time
/// with `sigwait`, so no handler ever runs inside libfuse or a copy loop.
struct SignalWaiter {
    private let set: DaemonSystem.SignalSet

    /// Blocks `signals` in the calling thread and in every thread it starts afterwards.
    init(blocking signals: [Int32]) {
        set = DaemonSystem.block(signals)
    }

    /// Waits for the next blocked signal and returns its number.
    func next() -> Int32 {
        DaemonSystem.waitForSignal(in: set)
    }

    /// `SIGTERM`, `SIGINT` and `SIGHUP`.
    static let handled = [DaemonSystem.terminate, DaemonSystem.interrupt, DaemonSystem.hangup]
}
