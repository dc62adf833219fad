import CLinux
import Glibc
import SystemPackage

/// Copy workers, DMA channels, client sessions and the FUSE loop run on dedicated OS threads,
/// never on the cooperative pool: they block on condition variables, sockets and long
/// `memcpy`s.
public enum OSThread {
    /// Starts a detached thread running `body`; false (and nothing started) when the system
    /// refuses one (`pthread_create`'s EAGAIN under a thread or memory limit).
    public static func trySpawn(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let start = Unmanaged.passRetained(ThreadStart(name: name, body: body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { argument in
            // The argument is the retained ThreadStart passed below, never nil; taking it
            // balances that retain.
            let start = Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue()
            clinux_set_thread_name(start.name)
            start.body()
            return nil
        }, start.toOpaque())
        if result != 0 { start.release() }
        return result == 0
    }

    /// Starts a detached thread running `body`, or throws EAGAIN (nothing started) when the
    /// system refuses one: a pids cgroup (`TasksMax`), `RLIMIT_NPROC` or memory for its stack.
    /// Never a crash: the caller answers its own caller with the errno.
    public static func spawn(name: String, _ body: @escaping @Sendable () -> Void) throws(Errno) {
        guard trySpawn(name: name, body) else { throw .resourceTemporarilyUnavailable }
    }

    /// Waits for `done` without a wake-up channel: yields first, then sleeps in short steps.
    /// Used only where the wait is bounded by one batch (the slot's grace period, a DMA
    /// terminate).
    public static func backoff(until done: () -> Bool) {
        var spins = 0
        while !done() {
            if spins < 64 {
                sched_yield()
            } else {
                sleep(microseconds: 20)
            }
            spins += 1
        }
    }

    /// Sleeps the calling thread (signals do not cut it short).
    public static func sleep(microseconds: UInt32) {
        sleep(.microseconds(microseconds))
    }

    /// Sleeps the calling thread for `duration` (signals do not cut it short).
    public static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && Glibc.errno == EINTR { request = remaining }
    }
}

/// What a thread started by `OSThread.trySpawn` runs, passed through `pthread_create`'s argument.
private final class ThreadStart {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}
