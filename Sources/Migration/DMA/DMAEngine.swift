import SystemPackage

/// A DMA engine as dcbm sees it: numbered channels, each taking descriptor lists
/// asynchronously and completing each list once, with a status per descriptor.
///
/// The `software` engine is the one every machine has; a hardware engine (Intel DSA work
/// queues) plugs in behind the same four calls.
public protocol DMAEngine: AnyObject, Sendable {
    /// What `dcbm/engine` shows.
    var name: String { get }
    /// Makes channels `0..<count` available (`dma_request_chan`); channels already there stay.
    func requestChannels(_ count: Int) throws(Errno)
    /// Gives every channel back; called only when no list is outstanding.
    func releaseChannels()
    /// Queues `list` on `channel` and returns at once; the engine later sets each descriptor's
    /// status and calls `list.complete()` exactly once.
    func submit(_ list: DMADescriptorList, channel: Int)
    /// `dmaengine_terminate_sync()`: stops `list` early; on return the engine no longer
    /// touches its memory and has completed it.
    func terminate(_ list: DMADescriptorList)
}

/// What became of one descriptor.
public enum DMAStatus: UInt8, Sendable {
    /// Not processed (yet, or ever: the list was terminated first).
    case pending
    /// Every byte was copied.
    case success
    /// The engine reported an error for it; its destination holds no usable data.
    case failed
}
