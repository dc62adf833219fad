import FolioMemory
import FolioProtocol
import FolioSharedMemory
import SystemPackage

/// The steps for a program space, whose folios a program maps with no pin (PROTOCOL.md §10):
/// the unmap step freezes each folio against other clients' pins and then has the program's
/// runtime take write access away, as the kernel's unmap clears writable PTEs; the runtime's
/// `mprotect` is the batch's TLB flush. Readers go on during the copy. The remap step has the
/// runtime map each destination at the folio's address, and only the folios it mapped are
/// repointed: until its answer, the source is what the program sees.
extension BatchMigration {
    mutating func migrateMapped(slot: MigratorSlot, into result: inout MigrationOutcome) {
        guard !candidates.isEmpty else { return }
        guard let runtime = metadata.space.runtime, runtime.isResponsive else {
            for candidate in candidates { fail(candidate, .resourceBusy, into: &result) }
            return
        }
        var start = Self.now()
        let frozen = unmap(candidates, into: &result)
        let revoked = !frozen.isEmpty && runtime.revoke(frozen.map(\.handle))
        tally.unmapNanos += Self.now() - start
        guard revoked else {
            // It may still get to the revoke: the restore after it gives writes back.
            if !frozen.isEmpty { runtime.restore(frozen.map(\.handle)) }
            for candidate in frozen {
                metadata.thaw(candidate.handle)
                fail(candidate, .resourceBusy, into: &result)
            }
            return
        }
        flush()
        start = Self.now()
        copy(frozen, slot: slot)
        tally.copyNanos += Self.now() - start
        start = Self.now()
        let destinations = frozen.map { ($0.handle, FolioEntry.location(tier: request.targetTier, offset: $0.destinationOffset)) }
        let status = runtime.remap(destinations)
        for (index, candidate) in frozen.enumerated() { settle(candidate, status?[index], into: &result) }
        releaseRetired()
        tally.moveNanos += Self.now() - start
    }

    /// `migrate_folio_move()` for one folio, by the runtime's answer: mapped at its
    /// destination (0), left at its source (an errno), or not answered (nil: kept unsettled).
    private mutating func settle(_ candidate: Candidate, _ answer: Int32?, into result: inout MigrationOutcome) {
        switch answer {
        case 0?: place(candidate, into: &result)
        case let status?:
            metadata.thaw(candidate.handle)
            fail(candidate, Errno(rawValue: -status), into: &result)
        case nil:
            metadata.unsettle(candidate.handle, tier: request.targetTier, offset: candidate.destinationOffset, order: candidate.source.order)
            metadata.thaw(candidate.handle)
            result.results[candidate.index] = .failed(.resourceBusy)
            tally.busy += 1
        }
    }
}
