import Foundation
import Synchronization
import SystemPackage
@testable import Migration

/// A DMA engine whose channels finish in reverse: channel 0 last, and each list's
/// descriptors last to first, so completion order is the opposite of submission order.
final class ReversingDMAEngine: DMAEngine {
    let name = "reversing"
    private let lanes: Int
    /// Channels in the order their lists completed.
    let completionOrder = Mutex<[Int]>([])

    init(lanes: Int) { self.lanes = lanes }

    func requestChannels(_ count: Int) throws(Errno) {}
    func releaseChannels() {}

    func submit(_ list: DMADescriptorList, channel: Int) {
        let delay = UInt32((lanes - channel) * 20_000)
        let thread = Thread { [self] in
            usleep(delay)
            for index in list.descriptors.indices.reversed() {
                list.descriptors[index].copy()
                list.status[index] = .success
            }
            completionOrder.withLock { $0.append(channel) }
            list.complete()
        }
        thread.start()
    }

    func terminate(_ list: DMADescriptorList) {
        list.cancel()
        while !list.isComplete { usleep(100) }
    }
}

/// A DMA engine whose channel `stalled` never completes on its own: only `terminate` ends its
/// lists (without copying), as a wedged hardware channel would need.
final class StallingDMAEngine: DMAEngine {
    let name = "stalling"
    private let stalled: Int
    let terminated = Atomic<Int>(0)

    init(stalled: Int) { self.stalled = stalled }

    func requestChannels(_ count: Int) throws(Errno) {}
    func releaseChannels() {}

    func submit(_ list: DMADescriptorList, channel: Int) {
        guard channel != stalled else { return }
        for index in list.descriptors.indices {
            list.descriptors[index].copy()
            list.status[index] = .success
        }
        list.complete()
    }

    func terminate(_ list: DMADescriptorList) {
        terminated.add(1, ordering: .relaxed)
        list.cancel()
        list.complete()
    }
}
