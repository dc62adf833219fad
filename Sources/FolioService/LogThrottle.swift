import Synchronization

/// At most one log line per kind per interval, as `printk_ratelimit()` does: a flood of
/// refused connections must not become a flood of log lines. Lines held back are counted and
/// the next line that passes says how many.
final class LogThrottle: Sendable {
    private struct Window {
        var start: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let interval: Duration
    private let windows = Mutex<[String: Window]>([:])

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Whether a line of `kind` may be logged now, and how many were held back before it.
    func admit(_ kind: String) -> (allowed: Bool, suppressed: Int) {
        let now = ContinuousClock.now
        return windows.withLock { windows in
            var window = windows[kind, default: Window()]
            defer { windows[kind] = window }
            if let start = window.start, now - start < interval {
                window.suppressed += 1
                return (false, 0)
            }
            let suppressed = window.suppressed
            window = Window(start: now, suppressed: 0)
            return (true, suppressed)
        }
    }
}
