import Atomics

/// What a pin promises: a read pin only reads the folio's bytes, a write pin may change them.
public enum PinAccess: Sendable {
    case read, write

    /// What the pin adds to its counter in the attachment's table.
    var unit: UInt32 { self == .read ? PinTable.readPin : PinTable.writePin }
    /// The counter's bits that count pins of this kind.
    var mask: UInt32 { self == .read ? ~PinTable.writePinMask : PinTable.writePinMask }
}

/// How a pin attempt ended.
public enum PinOutcome: Sendable, Equatable {
    /// The folio is stable and pinned.
    case pinned
    /// The folio stayed frozen and `keepWaiting` said stop: the daemon is gone.
    case daemonGone
    /// This attachment holds 65,535 pins of this kind on the folio already (EOVERFLOW).
    case tooManyPins
}

/// The pin protocol, implemented once for the daemon and the clients (PROTOCOL.md §6).
///
/// Client: seq even → its own counter += the pin's unit → re-check seq; if it moved, unpin and
/// retry; if odd, wait on the futex until it is even. A pin that holds adds one to the entry's
/// `accesses` (the heat the tiering policy ranks folios by), and a write pin one to its
/// `writes`. Daemon: seq += 1 (odd) → if any attached table counts a pin, seq -= 1 and report
/// busy; after the copy and the table update, seq += 1 (even again) and wake the waiters.
///
/// Why it is safe with several tables: both sides use sequentially consistent operations, so
/// for each counter either the freezer's load sees the pinner's increment (and backs out), or
/// the pinner's re-check sees the odd seq (and backs out). A table attached later cannot hold a
/// pin on a folio frozen before it was attached: attaching takes the space lock, which a batch
/// holds from freeze to thaw.
///
/// A transactional copy (`writeMark`, then copy unfrozen, then freeze and compare) relies on
/// the same order: a write pin raises its counter before it adds to `writes`, and the daemon
/// reads `writes` before it looks at the counters. So a write pin either shows as held when the
/// copy starts, or its `writes` add comes after the daemon's first reading, and the reading
/// taken under the freeze differs.
public enum PinProtocol {
    /// How long one futex wait lasts before the pinner looks again (a daemon that died while a
    /// folio was odd must not hang its clients forever).
    static let waitSliceNanos = 10_000_000

    /// Pins `entry` in `table` for `access`. While the folio is frozen it waits in slices,
    /// asking `keepWaiting` after each; false from it ends the wait unpinned (the caller's
    /// daemon is gone).
    @discardableResult
    public static func pin(_ entry: FolioEntry, in table: PinTable, for access: PinAccess = .write, keepWaiting: () -> Bool = { true }) -> PinOutcome {
        let counter = table.counter(entry.handle)
        while true {
            let seq = entry.seq.load(ordering: .acquiring)
            if seq & 1 == 1 {
                // Announce the sleep before checking seq in the kernel: a thaw that bumps seq
                // after this either sees the waiter and wakes it, or makes the wait return.
                entry.waiters.wrappingIncrement(ordering: .sequentiallyConsistent)
                SharedMemory.futexWait(entry.seqWord, expected: seq, timeoutNanos: waitSliceNanos)
                entry.waiters.wrappingDecrement(ordering: .relaxed)
                if entry.seq.load(ordering: .acquiring) == seq && !keepWaiting() { return .daemonGone }
                continue
            }
            guard raise(counter, by: access) else { return .tooManyPins }
            if entry.seq.load(ordering: .sequentiallyConsistent) == seq {
                entry.accesses.wrappingIncrement(ordering: .relaxed)
                if access == .write { entry.writes.wrappingIncrement(ordering: .sequentiallyConsistent) }
                return .pinned
            }
            counter.wrappingDecrement(by: access.unit, ordering: .sequentiallyConsistent)
        }
    }

    /// Adds `access`'s unit to `counter` unless its half is full (65,535 pins): a compare and
    /// exchange, not an add then a check, so the word never carries into the other half, not
    /// even for an instant a freeze could see as "no pin".
    private static func raise(_ counter: UnsafeAtomic<UInt32>, by access: PinAccess) -> Bool {
        var word = counter.load(ordering: .relaxed)
        while word & access.mask != access.mask {
            let (exchanged, original) = counter.weakCompareExchange(expected: word, desired: word &+ access.unit, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            word = original
        }
        return false
    }

    /// Ends an access begun with `pin` for the same `access` in the same table.
    public static func unpin(_ entry: FolioEntry, in table: PinTable, for access: PinAccess = .write) {
        table.counter(entry.handle).wrappingDecrement(by: access.unit, ordering: .releasing)
    }

    /// The daemon's half: marks the folio migrating unless a table in `tables` counts a pin.
    /// Returns false (and leaves the entry as it was) when a pin is held.
    public static func freeze(_ entry: FolioEntry, pinnedBy tables: [PinTable]) -> Bool {
        entry.seq.wrappingIncrement(ordering: .sequentiallyConsistent)
        if tables.allSatisfy({ $0.counter(entry.handle).load(ordering: .sequentiallyConsistent) == 0 }) { return true }
        entry.seq.wrappingDecrement(ordering: .sequentiallyConsistent)
        wakeWaiters(entry)
        return false
    }

    /// The start of a transactional copy: the folio's `writes` now, or nil while a table in
    /// `tables` holds a write pin on it (it may be written during the copy: copy it later).
    /// A reading equal to the one taken under the commit's freeze proves no write pin overlapped
    /// the copy.
    public static func writeMark(_ entry: FolioEntry, pinnedBy tables: [PinTable]) -> UInt32? {
        let mark = entry.writes.load(ordering: .sequentiallyConsistent)
        let written = tables.contains { $0.counter(entry.handle).load(ordering: .sequentiallyConsistent) & PinTable.writePinMask != 0 }
        return written ? nil : mark
    }

    /// Ends the migrating state: seq even again, waiters woken.
    public static func thaw(_ entry: FolioEntry) {
        entry.seq.wrappingIncrement(ordering: .sequentiallyConsistent)
        wakeWaiters(entry)
    }

    /// One futex wake, only when someone sleeps: most thaws have no waiter and skip the syscall.
    private static func wakeWaiters(_ entry: FolioEntry) {
        if entry.waiters.load(ordering: .sequentiallyConsistent) != 0 { SharedMemory.futexWakeAll(entry.seqWord) }
    }
}
