import Glibc
import Synchronization

/// SIGINT and SIGTERM turned into a flag, so a long run (gups) stops at its next sample, prints
/// what it measured and puts the knobs it changed back, instead of dying with them changed.
enum Interruption {
    private static let flag = Atomic<Bool>(false)

    /// Whether a signal asked the run to stop.
    static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Catches SIGINT and SIGTERM from now on; a second signal ends the process at once.
    static func catchSignals() {
        _ = requested  // initialize the flag now: a handler must not run a lazy initializer
        for signal in [SIGINT, SIGTERM] {
            Glibc.signal(signal) { number in
                if Interruption.flag.exchange(true, ordering: .relaxed) { _exit(128 + number) }
            }
        }
    }
}
