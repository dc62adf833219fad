import Atomics
import Dispatch
import FolioMemory
import FolioProtocol
import FolioSharedMemory
import SystemCalls
import SystemPackage

/// One batch's trip through the pipeline, run with its address space locked. Each step is a
/// function named after the kernel's (`migrate_folio_unmap`, `migrate_folio_move`, …), or
/// after Nomad's for the transactional copy (DESIGN.md §5).
struct BatchMigration {
    /// How the pipeline's knobs were when the batch began.
    struct Mode {
        /// The request's reason may use the offload migrator.
        var offload: Bool
        /// `migration/transactional`.
        var transactional: Bool
        /// `tiering/shadows`.
        var keepsShadows: Bool
    }

    /// A folio that passed `prepare`: its source, and the destination block reserved for it.
    struct Candidate {
        let index: Int  // into the request's handles (and the result's results)
        let handle: Int
        let source: FolioRecord
        let destinationOffset: Int
    }

    /// A folio whose shadow sits in the target tier: moved by a repoint if it is still clean.
    private struct Remap {
        let index: Int
        let handle: Int
        let source: FolioRecord
        let shadow: TakenShadow
    }

    let request: MigrationRequest
    private let indices: Range<Int>
    let metadata: AddressSpace.Metadata
    private let mode: Mode
    private let pinTables: [PinTable]
    var candidates: [Candidate] = []
    private var remaps: [Remap] = []
    /// Source blocks to give back when the batch ends, and what the steps did, for the counters.
    private var retired: [FolioRecord] = []
    var tally = Tally()
    /// Counts for `MigrationStatistics`, filled by `run`.
    private(set) var counts: KeyValuePairs<MigrationCounter, UInt64> = [:]
    /// Folios `run` moved.
    var foliosMoved: Int { tally.moved }

    struct Tally {
        var moved = 0, busy = 0, bytesCopied = 0, fellBack = 0
        var committed = 0, aborted = 0, frozenCopies = 0
        var unmapNanos: UInt64 = 0, copyNanos: UInt64 = 0, moveNanos: UInt64 = 0
    }

    init(request: MigrationRequest, indices: Range<Int>, metadata: AddressSpace.Metadata, mode: Mode) {
        self.request = request
        self.indices = indices
        self.metadata = metadata
        self.mode = mode
        // No attachment comes or goes while the batch holds the space's lock.
        pinTables = metadata.pinTables
    }

    /// Runs every step and writes each folio's result into `result`.
    mutating func run(slot: MigratorSlot, into result: inout MigrationOutcome) {
        prepare(into: &result)
        // Counted by the copying threads themselves; a concurrent batch's copies may count
        // in both.
        let faultsBefore = CopyFaults.count
        if metadata.space.isProgram {
            migrateMapped(slot: slot, into: &result)
        } else {
            migratePinned(slot: slot, into: &result)
        }
        let faults = max(CopyFaults.count - faultsBefore, 0)
        result.unmapNanos += tally.unmapNanos
        result.copyNanos += tally.copyNanos
        result.moveNanos += tally.moveNanos
        let failed = indices.count { result.results[$0].tier == nil } - tally.busy
        counts = [
            .batches: 1, .foliosMigrated: UInt64(tally.moved), .foliosFailed: UInt64(failed),
            .foliosBusy: UInt64(tally.busy), .bytesCopied: UInt64(tally.bytesCopied),
            .unmapNanos: tally.unmapNanos, .copyNanos: tally.copyNanos, .moveNanos: tally.moveNanos,
            .fallbacks: UInt64(tally.fellBack), .copyFaults: UInt64(faults),
            .txCommitted: UInt64(tally.committed), .txAborted: UInt64(tally.aborted), .txFrozenCopies: UInt64(tally.frozenCopies),
        ]
    }

    /// The steps for folios clients reach through pins.
    private mutating func migratePinned(slot: MigratorSlot, into result: inout MigrationOutcome) {
        var toFreeze = candidates
        let transactional = mode.transactional && metadata.writesAreMarked
        if transactional { toFreeze = copyUnfrozen(slot: slot, into: &result) }
        // After the unfrozen copies: a shadow found stale only under its freeze (a write pin
        // taken since `prepare`) leaves its folio frozen until its copy.
        var frozen = remap(into: &result)
        var start = Self.now()
        let unmapped = unmap(toFreeze, into: &result)
        // The last pass's leftovers that froze: those still pinned are EBUSY, not copies.
        if transactional { tally.frozenCopies += unmapped.count }
        frozen += unmapped
        tally.unmapNanos += Self.now() - start
        if !frozen.isEmpty {
            flush()
            start = Self.now()
            copy(frozen, slot: slot)
            tally.copyNanos += Self.now() - start
        }
        start = Self.now()
        // Point of no return: every frozen folio's bytes are at its destination.
        move(frozen, into: &result)
        releaseRetired()
        tally.moveNanos += Self.now() - start
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    // MARK: prepare

    /// What `prepare` found for one handle.
    private enum PrepareOutcome {
        /// It may move, from here, once a destination is reserved.
        case candidate(FolioRecord)
        /// Its shadow is in the target tier.
        case remap(FolioRecord, TakenShadow)
        /// It is already in the target tier: left alone, reported as the target.
        case alreadyInTarget
        /// It names no folio (ENOENT).
        case failed(Errno)
    }

    /// Checks each handle, then reserves the destinations: per order, all at once (one lock
    /// and one tier charge for the batch, not one per folio). Shadows are taken out of their
    /// pools first, so the reservation's reclaim cannot free one the batch is about to use.
    private mutating func prepare(into result: inout MigrationOutcome) {
        var movable: [(index: Int, source: FolioRecord)] = []
        movable.reserveCapacity(indices.count)
        var orders = 0  // a bit per order present
        for index in indices {
            // The rules are: a folio that may move waits for its destination; a folio already
            // in the target succeeds with nothing done; a failure is that folio's result, and
            // the rest of the batch goes on.
            switch prepare(index) {
            case .candidate(let source):
                movable.append((index, source))
                orders |= 1 << source.order
            case .remap(let source, let shadow): remaps.append(Remap(index: index, handle: request.handles[index], source: source, shadow: shadow))
            case .alreadyInTarget: result.results[index] = .tier(request.targetTier)
            case .failed(let error):
                result.results[index] = .failed(error)
                if error == .resourceBusy { tally.busy += 1 }
            }
        }
        candidates.reserveCapacity(movable.count)
        for order in 0...FolioTableLayout.maxOrder where orders & (1 << order) != 0 {
            // Most batches hold one order: then every movable folio is of it.
            let folios = orders == 1 << order ? movable : movable.filter { $0.source.order == order }
            let offsets = metadata.reserve(tier: request.targetTier, order: order, count: folios.count)
            // The target has room for the first `offsets.count`; the rest stay where they are.
            for (folio, offset) in zip(folios, offsets) {
                candidates.append(Candidate(index: folio.index, handle: request.handles[folio.index], source: folio.source, destinationOffset: offset))
            }
            for folio in folios.dropFirst(offsets.count) { result.results[folio.index] = .failed(.noMemory) }
        }
    }

    private func prepare(_ index: Int) -> PrepareOutcome {
        let handle = request.handles[index]
        guard let source = metadata.record(handle) else { return .failed(.noSuchFileOrDirectory) }
        guard source.tier != request.targetTier else { return .alreadyInTarget }
        // Its runtime may still map it at either block (AddressSpace+Program.swift).
        guard !metadata.isUnsettled(handle) else { return .failed(.resourceBusy) }
        // A folio that moves anywhere but to its shadow leaves the shadow behind for good. So
        // does one written since its promotion: `writes` only grows, so a shadow stale now is
        // stale for good, and its folio is copied like any other (unfrozen, when
        // transactional) instead of frozen for a remap that would copy it frozen.
        if let shadow = metadata.takeShadow(handle) {
            if shadow.tier == request.targetTier && mode.keepsShadows && metadata.isClean(shadow, of: handle) {
                return .remap(source, shadow)
            }
            metadata.releaseShadow(shadow)
        }
        return .candidate(source)
    }

    // MARK: unmap

    /// Back-off between unmap passes: `unmapBackoffMicros << pass`, at most
    /// `unmapBackoffMicros << unmapBackoffMaxShift` (1.6 ms): ten passes wait about 8 ms in all,
    /// long enough for a client to finish an access, short enough not to hold the batch.
    static let unmapBackoffMicros: UInt32 = 50
    static let unmapBackoffMaxShift = 5

    /// `migrate_folio_unmap()` over `items`: freezes every folio it can against every
    /// attachment's pin table, retrying pinned ones for up to `maxUnmapPasses` passes, and
    /// hands each to `frozen` as soon as it is frozen. Returns those still pinned after the
    /// last pass.
    private mutating func freezeEach<Item>(_ items: [Item], handle: (Item) -> Int, _ frozen: (inout Self, Item) -> Void) -> [Item] {
        var pending = items
        for pass in 0..<MigrationPipeline.maxUnmapPasses {
            var stillPinned: [Item] = []
            for item in pending {
                if metadata.freeze(handle(item), pinnedBy: pinTables) { frozen(&self, item) } else { stillPinned.append(item) }
            }
            pending = stillPinned
            if pending.isEmpty { break }
            if pass + 1 < MigrationPipeline.maxUnmapPasses { Self.backOff(pass) }
        }
        return pending
    }

    private static func backOff(_ pass: Int) {
        OSThread.sleep(microseconds: unmapBackoffMicros << min(pass, unmapBackoffMaxShift))
    }

    /// Freezes `folios` for a frozen copy; those still pinned fail with EBUSY, stay where they
    /// are, and give their destination back.
    mutating func unmap(_ folios: [Candidate], into result: inout MigrationOutcome) -> [Candidate] {
        var frozen: [Candidate] = []
        frozen.reserveCapacity(folios.count)
        let pinned = freezeEach(folios, handle: \.handle) { _, candidate in frozen.append(candidate) }
        for candidate in pinned { fail(candidate, .resourceBusy, into: &result) }
        return frozen
    }

    /// A candidate that will not move: its destination goes back, its result is `error`.
    mutating func fail(_ candidate: Candidate, _ error: Errno, into result: inout MigrationOutcome) {
        undoDestination(candidate)
        result.results[candidate.index] = .failed(error)
        if error == .resourceBusy { tally.busy += 1 }
    }

    /// `try_to_unmap_flush()`: one barrier for the batch, so every freeze is visible before any
    /// byte is copied.
    func flush() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    // MARK: remap to a shadow

    /// Moves each folio whose shadow is in the target by repointing it there, frozen, if no
    /// write pin was taken since its promotion; each is thawed as soon as it is repointed. One
    /// written since loses its shadow and is returned, still frozen, with a destination for
    /// the frozen copy.
    private mutating func remap(into result: inout MigrationOutcome) -> [Candidate] {
        guard !remaps.isEmpty else { return [] }
        let start = Self.now()
        var written: [Candidate] = []
        let pinned = freezeEach(remaps, handle: \.handle) { batch, remap in
            if let candidate = batch.remap(remap, into: &result) { written.append(candidate) }
        }
        for remap in pinned {
            metadata.releaseShadow(remap.shadow)
            result.results[remap.index] = .failed(.resourceBusy)
            tally.busy += 1
        }
        tally.unmapNanos += Self.now() - start
        return written
    }

    /// One frozen remap: repointed and thawed if its shadow is clean, else the frozen
    /// candidate to copy (nil if no block is left for it: it thaws where it is, ENOMEM).
    private mutating func remap(_ remap: Remap, into result: inout MigrationOutcome) -> Candidate? {
        if metadata.isClean(remap.shadow, of: remap.handle) {
            metadata.repoint(remap.handle, tier: request.targetTier, offset: remap.shadow.offset)
            metadata.useShadow(remap.shadow)
            retire(remap.source, of: remap.handle)
            metadata.thaw(remap.handle)
            result.results[remap.index] = .tier(request.targetTier)
            tally.moved += 1
            return nil
        }
        metadata.releaseShadow(remap.shadow)
        // The block just given back is of the same order, in the same arena.
        guard let offset = metadata.reserve(tier: request.targetTier, order: remap.source.order, count: 1).first else {
            metadata.thaw(remap.handle)
            result.results[remap.index] = .failed(.noMemory)
            return nil
        }
        return Candidate(index: remap.index, handle: remap.handle, source: remap.source, destinationOffset: offset)
    }

    // MARK: transactional copy

    /// Nomad's transactional migration: each pass copies the pending folios no write pin holds,
    /// unfrozen (read pins come and go meanwhile), then freezes each one and commits it if no
    /// write pin was taken since its copy began; the rest are retried. Returns the folios still
    /// pending after `maxTransactionalPasses`, for the frozen copy, so every folio progresses.
    private mutating func copyUnfrozen(slot: MigratorSlot, into result: inout MigrationOutcome) -> [Candidate] {
        var pending = candidates
        for pass in 0..<MigrationPipeline.maxTransactionalPasses where !pending.isEmpty {
            var marked: [(candidate: Candidate, mark: UInt32)] = []
            var written: [Candidate] = []
            for candidate in pending {
                if let mark = metadata.writeMark(candidate.handle, pinnedBy: pinTables) { marked.append((candidate, mark)) } else { written.append(candidate) }
            }
            var start = Self.now()
            copy(marked.map(\.candidate), slot: slot)
            tally.copyNanos += Self.now() - start
            start = Self.now()
            let dirty = commit(marked, into: &result)
            tally.unmapNanos += Self.now() - start
            tally.aborted += written.count + dirty.count
            pending = written + dirty
            // Every pending folio is held by a writer: give it time to finish.
            if marked.isEmpty && !pending.isEmpty { Self.backOff(pass) }
        }
        return pending
    }

    /// The commit: freezes each copied folio (waiting only for pins to drain), repoints it if
    /// its `writes` still reads `mark`, and thaws it at once, so a reader waits at most for
    /// one folio's commit; returns those a write raced.
    private mutating func commit(_ copied: [(candidate: Candidate, mark: UInt32)], into result: inout MigrationOutcome) -> [Candidate] {
        var dirty: [Candidate] = []
        let pinned = freezeEach(copied, handle: \.candidate.handle) { batch, folio in
            guard batch.metadata.writes(folio.candidate.handle) == folio.mark else {
                batch.metadata.thaw(folio.candidate.handle)
                dirty.append(folio.candidate)
                return
            }
            batch.place(folio.candidate, into: &result)
            batch.tally.committed += 1
        }
        for folio in pinned { fail(folio.candidate, .resourceBusy, into: &result) }
        return dirty
    }

    // MARK: copy and move

    /// One call to the active migrator for `folios`; the slot recopies what it failed.
    mutating func copy(_ folios: [Candidate], slot: MigratorSlot) {
        guard !folios.isEmpty else { return }
        // Each tier's base once for the batch, not once per folio.
        let bases = metadata.space.tiers.indices.map { metadata.address(tier: $0, offset: 0) }
        let destination = bases[request.targetTier]
        let copies = folios.map { candidate in
            FolioCopy(
                source: UnsafeRawPointer(bases[candidate.source.tier] + candidate.source.offset),
                destination: destination + candidate.destinationOffset,
                length: candidate.source.bytes
            )
        }
        let report = copies.withUnsafeBufferPointer { slot.copy($0, offload: mode.offload) }
        tally.fellBack += report.fellBack
        tally.bytesCopied += copies.reduce(0) { $0 + $1.length }
    }

    /// `migrate_folio_move()` for frozen folios: repoints each at its destination and ends
    /// its migrating state (waking waiters).
    private mutating func move(_ frozen: [Candidate], into result: inout MigrationOutcome) {
        for candidate in frozen { place(candidate, into: &result) }
    }

    /// Repoints a frozen folio at its destination, retires its source and thaws it.
    mutating func place(_ candidate: Candidate, into result: inout MigrationOutcome) {
        metadata.repoint(candidate.handle, tier: request.targetTier, offset: candidate.destinationOffset)
        retire(candidate.source, of: candidate.handle)
        metadata.thaw(candidate.handle)
        result.results[candidate.index] = .tier(request.targetTier)
        tally.moved += 1
    }

    /// A moved folio's old block: kept as its shadow when it was promoted and shadows are
    /// kept, else given back when the batch ends. Called while the folio is frozen, so the
    /// shadow's mark is the folio's `writes` with no write pin held.
    private mutating func retire(_ source: FolioRecord, of handle: Int) {
        if mode.keepsShadows, request.reason == .promotion, request.targetTier < source.tier, metadata.writesAreMarked {
            metadata.keepShadow(handle, tier: source.tier, offset: source.offset, order: source.order, mark: metadata.writes(handle))
        } else {
            retired.append(source)
        }
    }

    /// Frees the retired source blocks, per tier at once.
    func releaseRetired() {
        var sourceTiers = 0  // a bit per tier the sources come from
        for source in retired { sourceTiers |= 1 << source.tier }
        for tier in metadata.space.tiers.indices where sourceTiers & (1 << tier) != 0 {
            metadata.release(tier: tier, blocks: retired.lazy.filter { $0.tier == tier }.map { (offset: $0.offset, order: $0.order) })
        }
    }

    /// `migrate_folio_undo_dst()`: gives back a destination that will not be used.
    private func undoDestination(_ candidate: Candidate) {
        metadata.release(tier: request.targetTier, offset: candidate.destinationOffset, order: candidate.source.order)
    }
}
