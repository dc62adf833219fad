import Foundation

/// Copy workers, DMA channels and client sessions run on dedicated OS threads, never on the
/// cooperative pool: they block on condition variables, sockets and long `memcpy`s.
public enum OSThread {
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }

    /// Starts a detached thread running `body`; false (and nothing started) when the system
    /// refuses one (`pthread_create`'s EAGAIN under a thread or memory limit), which Foundation's
    /// `Thread` would not survive.
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
            Thread.current.name = start.name
            start.body()
            return nil
        }, start.toOpaque())
        if result != 0 { start.release() }
        return result == 0
    }

    /// Waits for `done` without a wake-up channel: yields first, then sleeps in short steps.
    /// Used only where the wait is bounded by one batch (the slot's grace period).
    static func backoff(until done: () -> Bool) {
        var spins = 0
        while !done() {
            if spins < 64 {
                sched_yield()
            } else {
                usleep(20)
            }
            spins += 1
        }
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
