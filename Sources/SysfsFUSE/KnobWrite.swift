import SystemPackage

/// One write to a knob through the mount, as the daemon logs it.
public struct KnobWrite: Sendable {
    /// The knob, e.g. `dcbm/offloading`.
    public var path: String
    /// What it showed before the write (without the trailing newline).
    public var oldValue: String
    /// What it shows after.
    public var newValue: String
    /// The writer, as FUSE reports it.
    public var pid: Int32
    public var uid: UInt32
    /// The errno the write failed with, or nil if it was stored.
    public var refusal: Errno?

    /// Whether the write changed what the knob shows.
    public var changed: Bool { oldValue != newValue }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
