import Atomics

/// The pin protocol, implemented once for the daemon and the clients.
///
/// Client: seq even → its own counter += 1 → re-check seq; if it moved, unpin and retry; if
/// odd, wait on the futex until it is even. A pin that holds adds one to the entry's
/// `accesses`, the heat the tiering policy ranks folios by. Daemon: seq += 1 (odd) → if any attached table
/// counts a pin, seq -= 1 and report busy; after the copy and the table update, seq += 1 (even
/// again) and wake the waiters, if any.
///
/// Why it is safe with several tables: both sides use sequentially consistent operations, so
/// for each counter either the freezer's load sees the pinner's increment (and backs out), or
/// the pinner's re-check sees the odd seq (and backs out). A table attached later cannot hold a
/// pin on a folio frozen before it was attached: attaching takes the space lock, which a batch
/// holds from freeze to thaw.
public enum PinProtocol {
    /// How long one futex wait lasts before the pinner looks again (a daemon that died while a
    /// folio was odd must not hang its clients forever).
    static let waitSliceNanos = 10_000_000

    /// Pins `entry` in `table`; returns true once the folio is stable and pinned. While the
    /// folio is frozen it waits in slices, asking `keepWaiting` after each; false from it ends
    /// the wait unpinned (the caller's daemon is gone).
    @discardableResult
    public static func pin(_ entry: FolioEntry, in table: PinTable, keepWaiting: () -> Bool = { true }) -> Bool {
        let counter = table.counter(entry.handle)
        while true {
            let seq = entry.seq.load(ordering: .acquiring)
            if seq & 1 == 1 {
                // Announce the sleep before checking seq in the kernel: a thaw that bumps seq
                // after this either sees the waiter and wakes it, or makes the wait return.
                entry.waiters.wrappingIncrement(ordering: .sequentiallyConsistent)
                SharedMemory.futexWait(entry.seqWord, expected: seq, timeoutNanos: waitSliceNanos)
                entry.waiters.wrappingDecrement(ordering: .relaxed)
                if entry.seq.load(ordering: .acquiring) == seq && !keepWaiting() { return false }
                continue
            }
            counter.wrappingIncrement(ordering: .sequentiallyConsistent)
            if entry.seq.load(ordering: .sequentiallyConsistent) == seq {
                entry.accesses.wrappingIncrement(ordering: .relaxed)
                return true
            }
            counter.wrappingDecrement(ordering: .sequentiallyConsistent)
        }
    }

    /// Ends an access begun with `pin` in the same table.
    public static func unpin(_ entry: FolioEntry, in table: PinTable) {
        table.counter(entry.handle).wrappingDecrement(ordering: .releasing)
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
