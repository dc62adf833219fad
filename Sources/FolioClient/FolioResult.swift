import FolioProtocol
import SystemPackage

/// Where one folio of a migrate request ended: in a tier (the target, or the one it was already
/// in), or left where it was for a reason.
public enum FolioResult: Equatable, Sendable {
    /// The folio is in this tier now.
    case tier(Int)
    /// It did not move: ENOENT (no such folio), ENOMEM (the target is full), EBUSY (pinned
    /// through every unmap pass).
    case failed(Errno)

    /// The wire's status word: a tier index >= 0, or a negative errno.
    public init(status: Int32) {
        self = status >= 0 ? .tier(Int(status)) : .failed(Errno(rawValue: -status))
    }

    /// A status word from a daemon, checked: a tier index below `tiers`, or a negative errno
    /// a kernel could return (-1 to -4095); nil for anything else (INT32_MIN, an unknown tier).
    init?(wire status: Int32, tiers: Int) {
        if status >= 0 {
            guard status < tiers else { return nil }
            self = .tier(Int(status))
        } else {
            guard let errno = FolioClient.errno(negated: status) else { return nil }
            self = .failed(errno)
        }
    }

    /// The tier, or nil if the folio did not move there.
    public var tier: Int? {
        if case .tier(let tier) = self { return tier }
        return nil
    }
}

/// What one migrate request did: a result per handle, in the request's order, and where the
/// daemon spent its time.
public struct MigrationOutcome: Equatable, Sendable {
    public var results: [FolioResult]
    public var unmapNanos: UInt64
    public var copyNanos: UInt64
    public var moveNanos: UInt64
    /// How many batches the daemon split the request into.
    public var batches: Int

    init(_ reply: MigrateReply, results: [FolioResult]) {
        self.results = results
        unmapNanos = reply.unmapNanos
        copyNanos = reply.copyNanos
        moveNanos = reply.moveNanos
        batches = Int(reply.batches)
    }

    init(results: [FolioResult], unmapNanos: UInt64, copyNanos: UInt64, moveNanos: UInt64, batches: Int) {
        self.results = results
        self.unmapNanos = unmapNanos
        self.copyNanos = copyNanos
        self.moveNanos = moveNanos
        self.batches = batches
    }
}
