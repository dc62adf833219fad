import Atomics

/// The pin protocol of DESIGN §5, implemented once for the daemon and the clients.
///
/// Client: seq even → pins += 1 → re-check seq; if it moved, unpin and retry; if odd, wait on
/// the futex until it is even. Daemon: seq += 1 (odd) → if pins != 0, seq -= 1 and report busy;
/// after the copy and the table update, seq += 1 (even again) and wake the waiters, if any.
public enum PinProtocol {
    /// How long one futex wait lasts before the pinner looks again (a daemon that died while a
    /// folio was odd must not hang its clients forever).
    static let waitSliceNanos = 10_000_000

    /// Pins `entry` for access; returns once the folio is stable and pinned.
    public static func pin(_ entry: FolioEntry) {
        while true {
            let seq = entry.seq.load(ordering: .acquiring)
            if seq & 1 == 1 {
                // Announce the sleep before checking seq in the kernel: a thaw that bumps seq
                // after this either sees the waiter and wakes it, or makes the wait return.
                entry.waiters.wrappingIncrement(ordering: .sequentiallyConsistent)
                MemorySystem.futexWait(entry.seqWord, expected: seq, timeoutNanos: waitSliceNanos)
                entry.waiters.wrappingDecrement(ordering: .relaxed)
                continue
            }
            entry.pins.wrappingIncrement(ordering: .sequentiallyConsistent)
            if entry.seq.load(ordering: .sequentiallyConsistent) == seq { return }
            entry.pins.wrappingDecrement(ordering: .sequentiallyConsistent)
        }
    }

    /// Ends an access begun with `pin`.
    public static func unpin(_ entry: FolioEntry) {
        entry.pins.wrappingDecrement(ordering: .releasing)
    }

    /// The daemon's half: marks the folio migrating unless it is pinned. Returns false (and
    /// leaves the entry as it was) when a pin is held.
    public static func freeze(_ entry: FolioEntry) -> Bool {
        entry.seq.wrappingIncrement(ordering: .sequentiallyConsistent)
        if entry.pins.load(ordering: .sequentiallyConsistent) == 0 { return true }
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
        if entry.waiters.load(ordering: .sequentiallyConsistent) != 0 { MemorySystem.futexWakeAll(entry.seqWord) }
    }
}
