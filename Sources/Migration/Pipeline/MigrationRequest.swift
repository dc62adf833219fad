import FolioProtocol

/// One migration request: folios of one address space to move to one tier.
public struct MigrationRequest: Sendable {
    /// The folios, by handle; a handle may appear once.
    public var handles: [Int]
    /// Index of the tier to move them to.
    public var targetTier: Int
    /// Why; decides whether the offload migrator may copy.
    public var reason: MigrationReason

    public init(handles: [Int], targetTier: Int, reason: MigrationReason) {
        self.handles = handles
        self.targetTier = targetTier
        self.reason = reason
    }
}

/// What a request did, as `move_pages(2)`'s status array reports it.
public struct MigrationResult: Sendable, Equatable {
    /// Per handle: the tier it is in now (>= 0), or a negative errno (`-ENOENT`, `-EBUSY`, …).
    public var status: [Int32]
    /// Time spent freezing folios (the unmap step), in nanoseconds.
    public var unmapNanos: UInt64 = 0
    /// Time spent in the migrator's copy, fallback included.
    public var copyNanos: UInt64 = 0
    /// Time spent repointing, thawing and freeing.
    public var moveNanos: UInt64 = 0
    /// Batches the request was cut into.
    public var batches = 0

    public init(status: [Int32]) {
        self.status = status
    }
}
