import SystemPackage

/// The errnos a kernel gives (`MAX_ERRNO`): a reply carrying another is malformed.
public let kernelErrnos: ClosedRange<Int64> = 1...4095

/// Where one folio of a migrate request ended: in a tier (the target, or the one it was already
/// in), or left where it was for a reason. The one type from the pipeline to the client; only
/// the wire has it as a status word (`wire`, `init(wire:)`).
public enum FolioResult: Equatable, Sendable {
    /// The folio is in this tier now.
    case tier(Int)
    /// It did not move: ENOENT (no such folio), ENOMEM (the target is full), EBUSY (pinned
    /// through every unmap pass).
    case failed(Errno)

    /// The status word: the tier index (>= 0), or the negative errno.
    public var wire: Int32 {
        switch self {
        case .tier(let tier): Int32(tier)
        case .failed(let errno): -errno.rawValue
        }
    }

    /// A status word, checked: a tier index, or a negative errno a kernel could return
    /// (-1 to -4095); nil for anything else (INT32_MIN). Whether the tier exists is for the
    /// receiver, which knows the tiers.
    public init?(wire status: Int32) {
        if status >= 0 {
            self = .tier(Int(status))
        } else {
            guard kernelErrnos.contains(-Int64(status)) else { return nil }
            self = .failed(Errno(rawValue: -status))
        }
    }

    /// The tier, or nil if the folio did not move there.
    public var tier: Int? {
        if case .tier(let tier) = self { return tier }
        return nil
    }
}

/// What one migrate request did, as `move_pages(2)`'s status array reports it: a result per
/// handle, in the request's order, and where the daemon spent its time.
public struct MigrationOutcome: Equatable, Sendable {
    public var results: [FolioResult]
    /// Time spent freezing folios (the unmap step), in nanoseconds.
    public var unmapNanos: UInt64 = 0
    /// Time spent in the migrator's copy, fallback included.
    public var copyNanos: UInt64 = 0
    /// Time spent repointing, thawing and freeing.
    public var moveNanos: UInt64 = 0
    /// How many batches the request was cut into.
    public var batches = 0

    public init(results: [FolioResult], unmapNanos: UInt64 = 0, copyNanos: UInt64 = 0, moveNanos: UInt64 = 0, batches: Int = 0) {
        self.results = results
        self.unmapNanos = unmapNanos
        self.copyNanos = copyNanos
        self.moveNanos = moveNanos
        self.batches = batches
    }
}
