import Glibc

/// A pthread mutex with a condition variable, for OS threads that block (copy workers, DMA
/// channels, latches). Timed waits use `CLOCK_MONOTONIC`, so a clock change cannot stretch
/// them. Every pthread call here fails only on a bug (an uninitialized or foreign mutex),
/// hence the preconditions.
public final class Condition: @unchecked Sendable {
    /// An absolute time on `CLOCK_MONOTONIC` for `wait(until:)`.
    public struct Deadline: Sendable {
        let time: timespec
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        precondition(pthread_mutex_init(mutex, nil) == 0)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &attributes) == 0)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { precondition(pthread_mutex_lock(mutex) == 0) }
    public func unlock() { precondition(pthread_mutex_unlock(mutex) == 0) }

    /// Waits for a signal; the caller holds the lock, and holds it again on return.
    public func wait() { precondition(pthread_cond_wait(condition, mutex) == 0) }

    /// Waits for a signal or `deadline`; false when the deadline passed.
    public func wait(until deadline: Deadline) -> Bool {
        var time = deadline.time
        let result = pthread_cond_timedwait(condition, mutex, &time)
        precondition(result == 0 || result == ETIMEDOUT)
        return result == 0
    }

    public func signal() { precondition(pthread_cond_signal(condition) == 0) }
    public func broadcast() { precondition(pthread_cond_broadcast(condition) == 0) }

    /// The instant `duration` from now, for `wait(until:)`.
    public static func deadline(after duration: Duration) -> Deadline {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return deadline(after: duration, from: now)
    }

    /// The instant `duration` after `now` (a `CLOCK_MONOTONIC` reading).
    static func deadline(after duration: Duration, from now: timespec) -> Deadline {
        let (seconds, attoseconds) = duration.components
        var nanoseconds = now.tv_nsec + Int(attoseconds / 1_000_000_000)
        var wholeSeconds = now.tv_sec + Int(seconds)
        if nanoseconds >= 1_000_000_000 {
            nanoseconds -= 1_000_000_000
            wholeSeconds += 1
        }
        return Deadline(time: timespec(tv_sec: wholeSeconds, tv_nsec: nanoseconds))
    }
}
