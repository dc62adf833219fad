import Synchronization

/// The kernel's `fault_attr` for DMA descriptors: fail with `probability` percent, at most
/// `times` times (-1: no limit), as `debug/fail_dma/{probability,times}` set it; and a switch
/// that wedges the channels (`debug/fail_dma/stall`).
public final class FaultInjector: Sendable {
    private let percent = Atomic<Int>(0)
    private let remaining = Atomic<Int>(1)
    private let stalled = Atomic<Bool>(false)

    public init() {}

    /// Percent of chances that fail, 0–100.
    public var probability: Int {
        get { percent.load(ordering: .relaxed) }
        set { percent.store(newValue, ordering: .relaxed) }
    }

    /// Failures left; -1 is unlimited, 0 turns injection off.
    public var times: Int {
        get { remaining.load(ordering: .relaxed) }
        set { remaining.store(newValue, ordering: .relaxed) }
    }

    /// `stall`: channels stop completing their lists until dcbm's timeout terminates them, as a
    /// wedged hardware channel would.
    public var stallChannels: Bool {
        get { stalled.load(ordering: .relaxed) }
        set { stalled.store(newValue, ordering: .relaxed) }
    }

    /// `should_fail()`: draws once, and spends one of `times` on a failure.
    public func shouldFail() -> Bool {
        let chance = probability
        guard chance > 0, times != 0 else { return false }
        guard chance >= 100 || Int.random(in: 0..<100) < chance else { return false }
        while true {
            let left = remaining.load(ordering: .relaxed)
            if left == 0 { return false }
            if left < 0 { return true }
            if remaining.compareExchange(expected: left, desired: left - 1, ordering: .relaxed).exchanged { return true }
        }
    }
}
