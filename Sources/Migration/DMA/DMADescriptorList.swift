import Synchronization

/// One channel's share of a batch: a contiguous run of the batch's folios, one descriptor
/// each, with a status slot per descriptor. The statuses let channels finish in any order.
public final class DMADescriptorList: @unchecked Sendable {
    /// The copies, in batch order.
    public let descriptors: UnsafeBufferPointer<FolioCopy>
    /// One status per descriptor, written by the engine before `complete()`.
    public let status: UnsafeMutableBufferPointer<DMAStatus>
    private let onComplete: @Sendable () -> Void
    private let completed = Atomic<Bool>(false)
    private let cancelled = Atomic<Bool>(false)

    init(
        descriptors: UnsafeBufferPointer<FolioCopy>,
        status: UnsafeMutableBufferPointer<DMAStatus>,
        onComplete: @escaping @Sendable () -> Void
    ) {
        precondition(descriptors.count == status.count)
        self.descriptors = descriptors
        self.status = status
        self.onComplete = onComplete
    }

    /// The engine's one completion for this list.
    public func complete() {
        let (exchanged, _) = completed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        precondition(exchanged, "DMA list completed twice")
        onComplete()
    }

    /// Whether `complete()` has run.
    public var isComplete: Bool { completed.load(ordering: .acquiring) }

    /// Asks the engine to stop before the next descriptor.
    public func cancel() { cancelled.store(true, ordering: .releasing) }

    /// Whether the list was cancelled; engines check it before each descriptor.
    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
}
