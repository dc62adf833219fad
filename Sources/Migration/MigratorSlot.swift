import Synchronization
import SystemCalls
import SystemPackage

/// The `static_call(_folios_copy)` analogue: which migrator copies the next batch.
///
/// Copiers never block: `withActiveMigrator` marks the migrator in use with one counter and
/// re-checks that it is still the active one. A swap publishes the new migrator, then waits
/// for the old one's counter to drain (the grace period) before it deactivates it. Both sides
/// use sequentially consistent operations: either the swap sees the copier's mark and waits,
/// or the copier sees the new migrator and backs out.
///
/// Locking: `swapLock` serializes swaps; copiers take no lock.
public final class MigratorSlot: Sendable {
    private final class Entry: Sendable {
        let migrator: any Migrator
        let users = Atomic<Int>(0)
        init(_ migrator: any Migrator) { self.migrator = migrator }
    }

    /// What one batch's copy did.
    public struct CopyReport: Sendable, Equatable {
        /// The migrator the batch ran on.
        public var migrator: String
        /// Folios it copied itself.
        public var copied: Int
        /// Folios the `kernel` fallback copied after it failed them.
        public var fellBack: Int
    }

    private let entries: [Entry]
    private let activeIndex = Atomic<Int>(0)
    private let swapLock = Mutex<Void>(())
    private let observers = Mutex<[@Sendable (_ from: String, _ to: String) -> Void]>([])

    /// A slot bound to `fallback` (the default copier) that can also bind `offload`. The
    /// fallback also recopies what an offload migrator failed: it must copy every folio it is
    /// given, as `kernel` does.
    public init(fallback: any Migrator, offload: [any Migrator]) {
        entries = ([fallback] + offload).map(Entry.init)
        precondition(Set(names).count == entries.count, "migrator names must be unique")
    }

    /// Every migrator's name, the default first.
    public var names: [String] { entries.map(\.migrator.name) }

    /// The migrators the slot can bind besides the default, in order.
    public var offloadMigrators: [any Migrator] { entries.dropFirst().map(\.migrator) }

    /// The migrator later batches start with.
    public var active: any Migrator { entries[activeIndex.load(ordering: .sequentiallyConsistent)].migrator }

    /// Runs `body` after every swap with the names of the migrator retired and the one bound.
    public func onSwap(_ body: @escaping @Sendable (_ from: String, _ to: String) -> Void) {
        observers.withLock { $0.append(body) }
    }

    /// `start_offloading(m)`: binds `name` unless another offload migrator holds the slot (EBUSY).
    public func startOffloading(_ name: String) throws(Errno) {
        let wanted = try index(of: name)
        try swapLock.withLock { (_) throws(Errno) in
            let current = activeIndex.load(ordering: .sequentiallyConsistent)
            guard current == wanted || current == 0 else { throw .resourceBusy }
            try swap(to: wanted)
        }
    }

    /// `stop_offloading()` if `name` is the active migrator; a no-op otherwise.
    public func stopOffloading(_ name: String) throws(Errno) {
        let wanted = try index(of: name)
        try swapLock.withLock { (_) throws(Errno) in
            guard activeIndex.load(ordering: .sequentiallyConsistent) == wanted else { return }
            try swap(to: 0)
        }
    }

    /// Binds `name` in one step from whatever is active, with no window on the default copier.
    public func switchTo(_ name: String) throws(Errno) {
        let wanted = try index(of: name)
        try swapLock.withLock { (_) throws(Errno) in try swap(to: wanted) }
    }

    /// Copies one batch with the active migrator (or the default when `offload` is false), then
    /// copies what it failed with the default and counts those folios as its failures.
    public func copy(_ folios: UnsafeBufferPointer<FolioCopy>, offload: Bool = true) -> CopyReport {
        let copied = UnsafeMutableBufferPointer<Bool>.allocate(capacity: folios.count)
        copied.initialize(repeating: false)
        defer { copied.deallocate() }
        return withActiveMigrator(offload: offload) { migrator in
            migrator.copy(folios, copied: copied)
            let failed = folios.indices.filter { !copied[$0] }
            // Most batches have nothing to recopy.
            if !failed.isEmpty { recopy(failed.map { folios[$0] }) }
            let fellBack = failed.count
            migrator.stats.record(migrated: folios.count - fellBack, failed: fellBack)
            return CopyReport(migrator: migrator.name, copied: folios.count - fellBack, fellBack: fellBack)
        }
    }

    /// Copies `folios` with the fallback. A fallback that leaves one uncopied breaks its
    /// contract; the folio is copied here all the same, since its move must not lose data.
    private func recopy(_ folios: [FolioCopy]) {
        var copied = [Bool](repeating: false, count: folios.count)
        folios.withUnsafeBufferPointer { batch in
            copied.withUnsafeMutableBufferPointer { entries[0].migrator.copy(batch, copied: $0) }
        }
        for index in folios.indices where !copied[index] { folios[index].copy() }
    }

    /// Runs `body` with the active migrator held: no swap away from it returns until `body` has.
    public func withActiveMigrator<R>(offload: Bool = true, _ body: (any Migrator) -> R) -> R {
        // A batch whose reason is masked out bypasses the slot: the default is always there.
        guard offload else { return body(entries[0].migrator) }
        while true {
            let index = activeIndex.load(ordering: .sequentiallyConsistent)
            let entry = entries[index]
            entry.users.add(1, ordering: .sequentiallyConsistent)
            if activeIndex.load(ordering: .sequentiallyConsistent) == index {
                defer { entry.users.subtract(1, ordering: .sequentiallyConsistent) }
                return body(entry.migrator)
            }
            entry.users.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Publishes `wanted`, waits out the grace period, then releases the old migrator.
    /// The caller holds `swapLock`.
    private func swap(to wanted: Int) throws(Errno) {
        let old = activeIndex.load(ordering: .sequentiallyConsistent)
        guard wanted != old else { return }
        try entries[wanted].migrator.activate()
        activeIndex.store(wanted, ordering: .sequentiallyConsistent)
        let retired = entries[old]
        OSThread.backoff { retired.users.load(ordering: .sequentiallyConsistent) == 0 }
        // From here no batch can reach the old migrator until it is activated again.
        if old != 0 { retired.migrator.deactivate() }
        for observer in observers.withLock({ $0 }) { observer(retired.migrator.name, entries[wanted].migrator.name) }
    }

    private func index(of name: String) throws(Errno) -> Int {
        guard let index = entries.firstIndex(where: { $0.migrator.name == name }) else { throw .invalidArgument }
        return index
    }
}
