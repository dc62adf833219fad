import FolioSharedMemory
import Synchronization

/// The old copies of promoted folios a tier keeps (Nomad's shadow pages): a folio promoted out
/// of this tier leaves its block here, with the folio's `writes` reading at the promotion.
/// While no write pin was taken since, the block still holds the folio's bytes, and demoting
/// the folio back here is a repoint, not a copy.
///
/// A shadow goes at the first of: the folio's next move (used or released), its free, its
/// space's end, a write seen by `dropWritten` (the tiering thread's aggregation), or pressure:
/// an allocation that finds the tier short takes shadows back first (`reclaim`), so shadows
/// count as free bytes for the watermarks (`Tier.availableBytes`).
///
/// Locking: one lock for the pool. It is taken under a space's lock (a batch, a free, an
/// allocation's reclaim) and never the other way round; releasing a block takes only its
/// arena's own lock, so an allocation in one space can reclaim another space's shadows.
public final class ShadowPool: Sendable {
    /// One kept block. `@unchecked Sendable` for its entry's pointer: the pool reads it only
    /// under its lock, while the space that owns the table is alive.
    struct Shadow: @unchecked Sendable {
        let arena: Arena
        let offset: Int
        let order: Int
        /// The folio's `writes` when it was promoted.
        let mark: UInt32
        /// The folio's shared entry, read by `dropWritten` (valid while the shadow is pooled: a
        /// space drops its shadows before it unmaps its table).
        let entry: FolioEntry
        /// When it was kept: reclaim takes the oldest first.
        let age: UInt64

        var bytes: Int { FolioTableLayout.bytes(order: order) }
        func release() { arena.release(offset: offset, order: order) }
    }

    private struct Key: Hashable {
        let space: Int
        let handle: Int
    }

    private struct State: ~Copyable {
        var shadows: [Key: Shadow] = [:]
        var kept: UInt64 = 0
    }

    private let state = Mutex(State())
    private let held = Atomic<Int>(0)
    private let used = Atomic<Int>(0)

    init() {}

    /// Bytes of the tier held by shadows.
    public var bytes: Int { held.load(ordering: .relaxed) }

    /// Demotions served by a shadow: no copy.
    public var hits: Int { used.load(ordering: .relaxed) }

    /// Keeps `offset` of `arena` as the shadow of `handle` in `space` (replacing any older one).
    func keep(space: Int, handle: Int, arena: Arena, offset: Int, order: Int, mark: UInt32, entry: FolioEntry) {
        let replaced = state.withLock { state -> Shadow? in
            state.kept += 1
            let shadow = Shadow(arena: arena, offset: offset, order: order, mark: mark, entry: entry, age: state.kept)
            held.add(shadow.bytes, ordering: .relaxed)
            return state.shadows.updateValue(shadow, forKey: Key(space: space, handle: handle))
        }
        if let replaced {
            held.subtract(replaced.bytes, ordering: .relaxed)
            release(replaced)
        }
    }

    /// The shadow of `handle` in `space`, out of the pool: the caller uses it or releases it.
    func take(space: Int, handle: Int) -> Shadow? {
        guard bytes > 0 else { return nil }
        let shadow = state.withLock { $0.shadows.removeValue(forKey: Key(space: space, handle: handle)) }
        if let shadow { held.subtract(shadow.bytes, ordering: .relaxed) }
        return shadow
    }

    /// Counts a move a taken shadow served (its block is the folio's again).
    func countHit() { used.add(1, ordering: .relaxed) }

    /// Frees a shadow taken and not used.
    func release(_ taken: Shadow) { taken.release() }

    /// Drops the shadow of `handle` in `space`, if any.
    func drop(space: Int, handle: Int) {
        if let shadow = take(space: space, handle: handle) { release(shadow) }
    }

    /// Drops every shadow of `space`.
    func dropAll(space: Int) {
        guard bytes > 0 else { return }
        remove { key, _ in key.space == space }.forEach(release)
    }

    /// Frees the oldest shadows until `wanted` bytes are back (or none is left); returns the
    /// bytes freed.
    @discardableResult
    public func reclaim(_ wanted: Int) -> Int {
        guard bytes > 0, wanted > 0 else { return 0 }
        let taken = state.withLock { state -> [Shadow] in
            var freed = 0
            var taken: [Shadow] = []
            for (key, shadow) in state.shadows.sorted(by: { $0.value.age < $1.value.age }) {
                guard freed < wanted else { break }
                state.shadows[key] = nil
                freed += shadow.bytes
                taken.append(shadow)
            }
            return taken
        }
        // Off the pool's count before the tier's budget gets the bytes back, so that
        // `Tier.availableBytes` never counts them twice.
        let freed = taken.reduce(0) { $0 + $1.bytes }
        held.subtract(freed, ordering: .relaxed)
        taken.forEach(release)
        return freed
    }

    /// Frees the shadows of folios written since their promotion (their bytes are stale);
    /// returns how many.
    @discardableResult
    public func dropWritten() -> Int {
        guard bytes > 0 else { return 0 }
        let stale = remove { _, shadow in shadow.entry.writes.load(ordering: .relaxed) != shadow.mark }
        stale.forEach(release)
        return stale.count
    }

    /// Takes the shadows `matching` says out of the pool.
    private func remove(where matching: (Key, Shadow) -> Bool) -> [Shadow] {
        let removed = state.withLock { state -> [Shadow] in
            let keys = state.shadows.filter { matching($0.key, $0.value) }.map(\.key)
            return keys.compactMap { state.shadows.removeValue(forKey: $0) }
        }
        held.subtract(removed.reduce(0) { $0 + $1.bytes }, ordering: .relaxed)
        return removed
    }
}
