import FolioMemory

/// How much the service gives out, and how long it waits for a client.
public struct ServiceLimits: Sendable {
    /// Sessions at once; one more is answered EUSERS and closed.
    public var sessions = 256
    /// Sessions one uid may hold at once; one more is EUSERS.
    public var sessionsPerUID = 128
    /// Named spaces at once, daemon-wide; one more is ENOSPC.
    public var namedSpaces = 256
    /// Named spaces one uid may own at once; one more is EDQUOT.
    public var namedSpacesPerUID = 16
    /// Bytes of folios one uid may hold across all its spaces; past it, EDQUOT.
    public var bytesPerUID = Int.max
    /// What each address space may hold.
    public var space = SpaceLimits()
    /// How long a connection may stay idle before it attaches; then it gets ETIMEDOUT and is
    /// closed, so idle connections cannot hold sessions.
    public var attachTimeout = Duration.seconds(5)
    /// How long a reply may wait for a client that does not read it; then the session ends.
    public var replyTimeout = Duration.seconds(10)

    public init() {}

    /// File descriptors the daemon needs to serve up to these limits with `tiers` tiers: per
    /// session its socket, its pin table and an anonymous space (table and a memfd per tier);
    /// per named space its table and memfds; plus a margin for the mount, logs and listeners.
    public func fileDescriptors(tiers: Int) -> Int {
        sessions * (3 + tiers) + namedSpaces * (1 + tiers) + 64
    }
}
