import Glibc

/// The daemon's one owner of signals: blocks them in every thread (they inherit the mask from
/// the main thread, which blocks them before starting any) and takes them one at a time with
/// `sigwait`, so no handler ever runs inside libfuse or a copy loop.
struct SignalWaiter {
    private var set = sigset_t()

    /// Blocks `signals` in the calling thread and in every thread it starts afterwards.
    init(blocking signals: [Int32]) {
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for the next blocked signal and returns its number.
    func next() -> Int32 {
        var set = set
        var signal: Int32 = 0
        while sigwait(&set, &signal) != 0 {}
        return signal
    }

    /// `SIGTERM`, `SIGINT` and `SIGHUP`.
    static let handled = [SIGTERM, SIGINT, SIGHUP]
}
