import Atomics
import FolioMemory
import Foundation
import SystemPackage

/// One batch's trip through the pipeline, run with its address space locked. Each step is a
/// function named after the kernel's (`migrate_folio_unmap`, `migrate_folio_move`, …).
struct BatchMigration {
    /// A folio that passed `prepare`: its source, and the destination block reserved for it.
    private struct Candidate {
        let slot: Int  // index into the request's handles
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
    private(set) var counts: KeyValuePairs<MigrationStatistics.Counter, UInt64> = [:]

    init(request: MigrationRequest, indices: Range<Int>, metadata: AddressSpace.Metadata, offload: Bool) {
        self.request = request
        self.indices = indices
        self.metadata = metadata
        self.offload = offload
    }

    /// Runs every step and writes each folio's status into `result`.
    mutating func run(slot: MigratorSlot, into result: inout MigrationResult) {
        prepare(into: &result)
        let unmapStart = DispatchTime.now().uptimeNanoseconds
        let busy = unmap(into: &result)
        flush()
        let copyStart = DispatchTime.now().uptimeNanoseconds
        let report = copy(slot: slot)
        let moveStart = DispatchTime.now().uptimeNanoseconds
        // Point of no return: every frozen folio's bytes are at its destination.
        move(into: &result)
        let end = DispatchTime.now().uptimeNanoseconds
        result.unmapNanos += copyStart - unmapStart
        result.copyNanos += moveStart - copyStart
        result.moveNanos += end - moveStart
        let failed = indices.count { result.status[$0] < 0 } - busy
        counts = [
            .batches: 1, .foliosMigrated: UInt64(candidates.count), .foliosFailed: UInt64(failed),
            .foliosBusy: UInt64(busy), .bytesCopied: UInt64(candidates.reduce(0) { $0 + $1.source.bytes }),
            .unmapNanos: copyStart - unmapStart, .copyNanos: moveStart - copyStart, .moveNanos: end - moveStart,
            .fallbacks: UInt64(report.fellBack),
        ]
    }

    /// Checks each handle and reserves its destination. Outcomes per folio:
    /// ENOENT (no such folio), already in the target (left alone, status is the target),
    /// ENOMEM (the target tier is full), or a candidate for the next steps.
    private mutating func prepare(into result: inout MigrationResult) {
        for slot in indices {
            let handle = request.handles[slot]
            guard let source = metadata.record(handle) else {
                result.status[slot] = -Errno.noSuchFileOrDirectory.rawValue
                continue
            }
            if source.tier == request.targetTier {
                result.status[slot] = Int32(request.targetTier)
                continue
            }
            do {
                let destination = try metadata.reserve(tier: request.targetTier, order: source.order)
                candidates.append(Candidate(slot: slot, handle: handle, source: source, destinationOffset: destination))
            } catch {
                result.status[slot] = -error.rawValue
            }
        }
    }

    /// `migrate_folio_unmap()` over the batch: freezes every candidate it can, retrying pinned
    /// ones for up to `maxUnmapPasses` passes. Those still pinned fail with EBUSY, stay where
    /// they are, and give their destination back. Returns how many did.
    private mutating func unmap(into result: inout MigrationResult) -> Int {
        var pending = candidates
        var frozen: [Candidate] = []
        for pass in 0..<MigrationPipeline.maxUnmapPasses {
            pending = pending.filter { candidate in
                guard metadata.freeze(candidate.handle) else { return true }
                frozen.append(candidate)
                return false
            }
            if pending.isEmpty { break }
            // Give the pin holders a moment before the next pass, growing each time.
            if pass + 1 < MigrationPipeline.maxUnmapPasses { usleep(UInt32(50 << min(pass, 5))) }
        }
        for candidate in pending {
            undoDestination(candidate)
            result.status[candidate.slot] = -Errno.resourceBusy.rawValue
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
        let folios = candidates.map { candidate in
            FolioCopy(
                source: UnsafeRawPointer(metadata.address(tier: candidate.source.tier, offset: candidate.source.offset)),
                destination: metadata.address(tier: request.targetTier, offset: candidate.destinationOffset),
                length: candidate.source.bytes
            )
        }
        return folios.withUnsafeBufferPointer { slot.copy($0, offload: offload) }
    }

    /// `migrate_folio_move()`: repoints each folio at its destination, ends the migrating
    /// state (waking waiters) and frees the source block.
    private func move(into result: inout MigrationResult) {
        for candidate in candidates {
            metadata.repoint(candidate.handle, tier: request.targetTier, offset: candidate.destinationOffset)
            metadata.thaw(candidate.handle)
            metadata.release(tier: candidate.source.tier, offset: candidate.source.offset, order: candidate.source.order)
            result.status[candidate.slot] = Int32(request.targetTier)
        }
    }

    /// `migrate_folio_undo_dst()`: gives back a destination that will not be used.
    private func undoDestination(_ candidate: Candidate) {
        metadata.release(tier: request.targetTier, offset: candidate.destinationOffset, order: candidate.source.order)
    }
}
