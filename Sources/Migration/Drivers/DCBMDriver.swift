import Synchronization
import SystemPackage

/// `dcbm`: DMA-engine batch copy. Each batch is cut into `nr_dma_chan` contiguous descriptor
/// lists, one per channel, submitted asynchronously; the driver then waits for one completion
/// per channel, or the timeout, and reads every descriptor's status.
public final class DCBMDriver: Migrator {
    /// What `dcbm/nr_dma_chan` accepts.
    public static let channelRange: ClosedRange<UInt32> = 1...16
    /// How long a batch waits for its channels before terminating them.
    public static let defaultTimeout = Duration.seconds(2)

    public let name = "dcbm"
    public let stats = MigratorStats()
    /// The engine behind the channels (`dcbm/engine`).
    public let engine: any DMAEngine
    private let timeout: Duration
    private let requestedChannels = Atomic<Int>(1)
    // Whether the engine's channels are held; guards the pairing of that flag with a request.
    private let active = Mutex(false)
    private let timeouts = Atomic<UInt64>(0)

    public init(engine: any DMAEngine, timeout: Duration = DCBMDriver.defaultTimeout) {
        self.engine = engine
        self.timeout = timeout
    }

    /// The `nr_dma_chan` knob; a change takes effect from the next batch.
    public var channels: Int { requestedChannels.load(ordering: .relaxed) }

    /// Stores `nr_dma_chan`. While active, more channels are requested here, in the knob's
    /// store and outside any batch: a channel thread the system refuses is the writer's
    /// EAGAIN, and the old count stays.
    public func setChannels(_ count: Int) throws(Errno) {
        precondition(Self.channelRange.contains(UInt32(count)))
        try active.withLock { (active) throws(Errno) in
            if active { try engine.requestChannels(count) }
            requestedChannels.store(count, ordering: .relaxed)
        }
    }

    /// Batches that hit the timeout and had their lists terminated.
    public var timedOutBatches: UInt64 { timeouts.load(ordering: .relaxed) }

    /// Takes `nr_dma_chan` channels, or throws (EAGAIN for a refused thread) holding none.
    public func activate() throws(Errno) {
        try active.withLock { (active) throws(Errno) in
            try engine.requestChannels(channels)
            active = true
        }
    }

    public func deactivate() {
        active.withLock { active in
            engine.releaseChannels()
            active = false
        }
    }

    public func copy(_ folios: UnsafeBufferPointer<FolioCopy>, copied: UnsafeMutableBufferPointer<Bool>) {
        let lanes = min(channels, folios.count)
        guard lanes > 0 else { return }
        // A raised nr_dma_chan needs its channels now; on failure the batch falls back whole.
        do { try engine.requestChannels(lanes) } catch { return }
        let status = UnsafeMutableBufferPointer<DMAStatus>.allocate(capacity: folios.count)
        status.initialize(repeating: .pending)
        // Channel threads write `status` and read `folios`. Both are let go only after every
        // list completed: `done.wait` saw all complete, or `terminate` returned, which it does
        // only once the engine no longer touches the list (`dmaengine_terminate_sync()`).
        defer { status.deallocate() }
        let done = CountdownLatch(count: lanes)
        let lists = (0..<lanes).map { lane in
            let slice = Self.slice(lane, of: lanes, count: folios.count)
            return DMADescriptorList(
                descriptors: UnsafeBufferPointer(rebasing: folios[slice]),
                status: UnsafeMutableBufferPointer(rebasing: status[slice]),
                onComplete: { done.countDown() }
            )
        }
        for (lane, list) in lists.enumerated() { engine.submit(list, channel: lane) }
        if !done.wait(timeout: timeout) {
            timeouts.add(1, ordering: .relaxed)
            for list in lists where !list.isComplete { engine.terminate(list) }
        }
        // Each status is read once its list completed; any order of completion is fine.
        for index in folios.indices { copied[index] = status[index] == .success }
    }

    /// Lane `lane`'s contiguous share of `count` descriptors.
    static func slice(_ lane: Int, of lanes: Int, count: Int) -> Range<Int> {
        (count * lane / lanes)..<(count * (lane + 1) / lanes)
    }
}
