import Foundation

/// Copy workers and DMA channels run on dedicated OS threads, never on the cooperative pool:
/// they block on condition variables and run long `memcpy`s.
enum OSThread {
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
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
