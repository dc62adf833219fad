import Synchronization
import SystemCalls
import SystemPackage

/// The DMA engine of machines without one: each channel is an OS thread that copies with
/// `memcpy`. Descriptor faults come from `faults` (`debug/fail_dma`).
public final class SoftwareDMAEngine: DMAEngine {
    public let name = "software"
    /// The most channels a caller may request (`dcbm/nr_dma_chan`'s upper bound).
    public static let maxChannels = 16
    private let faults: FaultInjector
    private let channels = Mutex<[SoftwareDMAChannel]>([])

    public init(faults: FaultInjector) {
        self.faults = faults
    }

    /// Grows to `count` channels; a channel thread the system refuses undoes this call's
    /// growth and throws EAGAIN.
    public func requestChannels(_ count: Int) throws(Errno) {
        guard (1...Self.maxChannels).contains(count) else { throw .invalidArgument }
        try channels.withLock { (channels) throws(Errno) in
            let held = channels.count
            do throws(Errno) {
                while channels.count < count {
                    channels.append(try SoftwareDMAChannel(index: channels.count, faults: faults))
                }
            } catch {
                channels[held...].forEach { $0.stop() }
                channels.removeSubrange(held...)
                throw error
            }
        }
    }

    public func releaseChannels() {
        let released = channels.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        released.forEach { $0.stop() }
    }

    public func submit(_ list: DMADescriptorList, channel: Int) {
        let target = channels.withLock { $0[channel] }
        target.submit(list)
    }

    public func terminate(_ list: DMADescriptorList) {
        list.cancel()
        // The channel checks the flag before each descriptor, so the wait is at most one copy
        // (or the list is still queued and completes as soon as the channel reaches it).
        OSThread.backoff { list.isComplete }
    }
}
