/// `tiering/promote_rate_limit_MBps` as the kernel applies `numa_balancing_promote_rate_limit_MBps`
/// (`numa_promotion_rate_limit()`): promotions are counted in windows of one second, and once a
/// window has promoted the limit, nothing more is promoted until the next one starts.
struct PromotionWindow {
    private var start: ContinuousClock.Instant
    private var spent = 0

    init(now: ContinuousClock.Instant) {
        start = now
    }

    /// Bytes that may still be promoted in the window holding `now`, at `limitMBps` MiB per
    /// second (the kernel's MB is 2^20 bytes: `rate_limit << (20 - PAGE_SHIFT)` pages).
    mutating func available(now: ContinuousClock.Instant, limitMBps: Int) -> Int {
        if now - start >= .seconds(1) {
            start = now
            spent = 0
        }
        return max(limitMBps << 20 - spent, 0)
    }

    /// Counts `bytes` promoted in the current window.
    mutating func spend(_ bytes: Int) {
        spent += bytes
    }
}
