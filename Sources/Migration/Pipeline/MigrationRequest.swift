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
