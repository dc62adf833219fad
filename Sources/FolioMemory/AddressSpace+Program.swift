import FolioSharedMemory
import SystemPackage

/// What a program space's runtime does for a batch (PROTOCOL.md §10): a program maps the
/// space's folios with no pin, so the pipeline's unmap step asks it to take write access away,
/// and its remap step to map each folio's new place at the same address.
public protocol ProgramRuntime: AnyObject, Sendable {
    /// False while the runtime is not answering: it missed a deadline and has not answered
    /// anything since. A batch then moves none of its folios instead of waiting again.
    var isResponsive: Bool { get }
    /// Takes write access to `handles` away; false if no answer came in time.
    func revoke(_ handles: [Int]) -> Bool
    /// Maps each folio at `location` (the entry's `where` word); per folio 0 or a negative
    /// errno, or nil if no answer came in time (the runtime is then given up for good).
    func remap(_ folios: [(handle: Int, location: UInt64)]) -> [Int32]?
    /// Gives write access back to `handles` where they are mapped now, not waiting for the
    /// answer: after a `revoke` that was not answered in time.
    func restore(_ handles: [Int])
}

extension AddressSpace {
    /// The runtime migrating this program space's folios, if one is attached.
    public var runtime: (any ProgramRuntime)? { runtimeSlot.withLock { $0 } }

    /// Makes `runtime` the space's: EINVAL for a space that is not a program space, EBUSY if
    /// it has one.
    public func install(runtime: any ProgramRuntime) throws(Errno) {
        guard isProgram else { throw .invalidArgument }
        try runtimeSlot.withLock { (slot) throws(Errno) in
            guard slot == nil else { throw .resourceBusy }
            slot = runtime
        }
    }

    /// Bytes of folios the space holds in each tier, or nil while a batch (or anything else)
    /// holds its lock: the stats reply must not wait for a program's migration, which may be
    /// waiting for that program's runtime, which may be asking for the stats.
    public var bytesPerTierIfIdle: [Int]? {
        lock.withLockIfAvailable { _ in
            var bytes = [Int](repeating: 0, count: tiers.count)
            for case let record? in records { bytes[record.tier] += record.bytes }
            return bytes
        }
    }

    /// Takes `runtime` away (its channel closed): the space's folios stay where they are.
    public func remove(runtime: any ProgramRuntime) {
        runtimeSlot.withLock { slot in
            if slot === runtime { slot = nil }
        }
    }
}

extension AddressSpace.Metadata {
    /// `handle`'s `where` word now.
    public func location(_ handle: Int) -> UInt64? {
        record(handle).map { FolioEntry.location(tier: $0.tier, offset: $0.offset) }
    }

    /// Whether `handle` waits for its runtime's late answer: it may not move meanwhile.
    public func isUnsettled(_ handle: Int) -> Bool { space.unsettled[handle] != nil }

    /// Keeps the block `offset` of `tier` for `handle`, whose runtime may map it or not: a remap that was not
    /// answered in time. The block goes back when the folio or the space is freed.
    public func unsettle(_ handle: Int, tier: Int, offset: Int, order: Int) {
        space.unsettled[handle] = FolioRecord(tier: tier, offset: offset, order: order)
    }
}
