import SystemCalls
import SystemPackage

/// One channel of the software engine: an OS thread working through its lists in order.
///
/// Locking: `condition` guards `queue` and `state`.
final class SoftwareDMAChannel: @unchecked Sendable {
    private enum State { case running, stopping, stopped }

    private let faults: FaultInjector
    private let condition = Condition()
    private var queue: [DMADescriptorList] = []
    private var state = State.running

    /// A channel and its thread, or EAGAIN when the system refuses the thread.
    init(index: Int, faults: FaultInjector) throws(Errno) {
        self.faults = faults
        try OSThread.spawn(name: "dcbm-chan/\(index)") { [self] in run() }
    }

    func submit(_ list: DMADescriptorList) {
        condition.lock()
        precondition(state == .running, "submit on a released channel")
        queue.append(list)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread finish what is queued, then waits for it to exit.
    func stop() {
        condition.lock()
        state = .stopping
        condition.signal()
        while state != .stopped { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while let list = next() {
            process(list)
            list.complete()
        }
    }

    private func next() -> DMADescriptorList? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && state == .running { condition.wait() }
        if !queue.isEmpty { return queue.removeFirst() }
        state = .stopped
        condition.broadcast()
        return nil
    }

    private func process(_ list: DMADescriptorList) {
        if faults.stallChannels {
            // Wedged: touch nothing until the driver gives up and terminates the list.
            while !list.isCancelled { OSThread.sleep(microseconds: 1000) }
            return
        }
        CopyFaults.counting { copyDescriptors(list) }
    }

    private func copyDescriptors(_ list: DMADescriptorList) {
        for index in list.descriptors.indices {
            if list.isCancelled { return }
            if faults.shouldFail() {
                list.status[index] = .failed
                continue
            }
            list.descriptors[index].copy()
            list.status[index] = .success
        }
    }
}
