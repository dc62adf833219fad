import Atomics
import Dispatch
import FolioMemory
import FolioProtocol
import FolioSharedMemory
import SystemCalls
import SystemPackage

/// One batch's trip through the pipeline, run with its address space locked. Each step is a
/// function named after the kernel's (`migrate_folio_unmap`, `migrate_folio_move`, …).
struct BatchMigration {
    /// A folio that passed `prepare`: its source, and the destination block reserved for it.
    private struct Candidate {
        let index: Int  // into the request's handles (and the result's results)
        let handle: Int
        let source: FolioRecord
        let destinationOffset: Int
    }

    private let request: MigrationRequest
    private let indices: Range<Int>
    private let metadata: AddressSpace.Metadata
    private let offload: Bool
    private var candidates: [Candidate] = []
    /// Counts for `MigrationStatistics`, filled as the steps run.
    private(set) var counts: KeyValuePairs<MigrationCounter, UInt64> = [:]

    init(request: MigrationRequest, indices: Range<Int>, metadata: AddressSpace.Metadata, offload: Bool) {
        self.request = request
        self.indices = indices
        self.metadata = metadata
        self.offload = offload
    }

    /// Runs every step and writes each folio's result into `result`.
    mutating func run(slot: MigratorSlot, into result: inout MigrationOutcome) {
        prepare(into: &result)
        let unmapStart = DispatchTime.now().uptimeNanoseconds
        let busy = unmap(into: &result)
        flush()
        // Counted by the copying threads themselves; a concurrent batch's copies may count
        // in both.
        let faultsBefore = CopyFaults.count
        let copyStart = DispatchTime.now().uptimeNanoseconds
        let report = copy(slot: slot)
        let moveStart = DispatchTime.now().uptimeNanoseconds
        let faults = max(CopyFaults.count - faultsBefore, 0)
        // Point of no return: every frozen folio's bytes are at its destination.
        move(into: &result)
        let end = DispatchTime.now().uptimeNanoseconds
        result.unmapNanos += copyStart - unmapStart
        result.copyNanos += moveStart - copyStart
        result.moveNanos += end - moveStart
        let failed = indices.count { result.results[$0].tier == nil } - busy
        counts = [
            .batches: 1, .foliosMigrated: UInt64(candidates.count), .foliosFailed: UInt64(failed),
            .foliosBusy: UInt64(busy), .bytesCopied: UInt64(candidates.reduce(0) { $0 + $1.source.bytes }),
            .unmapNanos: copyStart - unmapStart, .copyNanos: moveStart - copyStart, .moveNanos: end - moveStart,
            .fallbacks: UInt64(report.fellBack), .copyFaults: UInt64(faults),
        ]
    }

    /// What `prepare` found for one handle.
    private enum PrepareOutcome {
        /// It may move, from here, once a destination is reserved.
        case candidate(FolioRecord)
        /// It is already in the target tier: left alone, reported as the target.
        case alreadyInTarget
        /// It names no folio (ENOENT).
        case failed(Errno)
    }

    /// Checks each handle, then reserves the destinations: per order, all at once (one lock
    /// and one tier charge for the batch, not one per folio).
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
            case .alreadyInTarget: result.results[index] = .tier(request.targetTier)
            case .failed(let error): result.results[index] = .failed(error)
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
        return .candidate(source)
    }

    /// What one unmap pass did with one candidate.
    private enum UnmapOutcome {
        /// Frozen (seq odd, no pin held): it will be copied and moved.
        case frozen
        /// A client holds it pinned: try again next pass, and after the last pass fail it.
        case pinned
    }

    /// `migrate_folio_unmap()` for one candidate, against every attachment's pin table.
    private func unmap(_ candidate: Candidate, pinTables: [PinTable]) -> UnmapOutcome {
        metadata.freeze(candidate.handle, pinnedBy: pinTables) ? .frozen : .pinned
    }

    /// Back-off between unmap passes: `unmapBackoffMicros << pass`, at most
    /// `unmapBackoffMicros << unmapBackoffMaxShift` (1.6 ms): ten passes wait about 8 ms in all,
    /// long enough for a client to finish an access, short enough not to hold the batch.
    static let unmapBackoffMicros: UInt32 = 50
    static let unmapBackoffMaxShift = 5

    /// Unmaps the batch: freezes every candidate it can, retrying pinned ones for up to
    /// `maxUnmapPasses` passes. Those still pinned fail with EBUSY, stay where they are, and
    /// give their destination back. Returns how many did.
    private mutating func unmap(into result: inout MigrationOutcome) -> Int {
        var pending = candidates
        var frozen: [Candidate] = []
        frozen.reserveCapacity(candidates.count)
        let pinTables = metadata.pinTables
        for pass in 0..<MigrationPipeline.maxUnmapPasses {
            var stillPinned: [Candidate] = []
            for candidate in pending {
                // The rules are: a frozen folio goes on to the copy; a pinned one waits for
                // the next pass.
                switch unmap(candidate, pinTables: pinTables) {
                case .frozen: frozen.append(candidate)
                case .pinned: stillPinned.append(candidate)
                }
            }
            pending = stillPinned
            if pending.isEmpty { break }
            if pass + 1 < MigrationPipeline.maxUnmapPasses { OSThread.sleep(microseconds: Self.unmapBackoffMicros << min(pass, Self.unmapBackoffMaxShift)) }
        }
        for candidate in pending {
            undoDestination(candidate)
            result.results[candidate.index] = .failed(.resourceBusy)
        }
        candidates = frozen
        return pending.count
    }

    /// `try_to_unmap_flush()`: one barrier for the batch, so every freeze is visible before any
    /// byte is copied.
    private func flush() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// One call to the active migrator for the whole batch; the slot recopies what it failed.
    private func copy(slot: MigratorSlot) -> MigratorSlot.CopyReport {
        // Each tier's base once for the batch, not once per folio.
        let bases = metadata.space.tiers.indices.map { metadata.address(tier: $0, offset: 0) }
        let destination = bases[request.targetTier]
        let folios = candidates.map { candidate in
            FolioCopy(
                source: UnsafeRawPointer(bases[candidate.source.tier] + candidate.source.offset),
                destination: destination + candidate.destinationOffset,
                length: candidate.source.bytes
            )
        }
        return folios.withUnsafeBufferPointer { slot.copy($0, offload: offload) }
    }

    /// `migrate_folio_move()`: repoints each folio at its destination, ends the migrating
    /// state (waking waiters), then frees the source blocks, per tier at once.
    private func move(into result: inout MigrationOutcome) {
        let target = FolioResult.tier(request.targetTier)
        var sourceTiers = 0  // a bit per tier the sources come from
        for candidate in candidates {
            metadata.repoint(candidate.handle, tier: request.targetTier, offset: candidate.destinationOffset)
            metadata.thaw(candidate.handle)
            sourceTiers |= 1 << candidate.source.tier
            result.results[candidate.index] = target
        }
        for tier in metadata.space.tiers.indices where sourceTiers & (1 << tier) != 0 {
            let sources = candidates.lazy.filter { $0.source.tier == tier }.map { (offset: $0.source.offset, order: $0.source.order) }
            metadata.release(tier: tier, blocks: Array(sources))
        }
    }

    /// `migrate_folio_undo_dst()`: gives back a destination that will not be used.
    private func undoDestination(_ candidate: Candidate) {
        metadata.release(tier: request.targetTier, offset: candidate.destinationOffset, order: candidate.source.order)
    }
}
