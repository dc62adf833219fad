import FolioMemory
import FolioProtocol
import FolioSharedMemory
import Foundation
import Synchronization
import SystemPackage
import Testing
@testable import Migration

/// A copier that runs `during` inside every copy call, after copying half of each folio: what a
/// client thread does while the daemon copies.
final class InterleavingMigrator: Migrator {
    let name = "kernel"
    let stats = MigratorStats()
    let calls = Atomic<Int>(0)
    let during: @Sendable (_ call: Int) -> Void

    init(during: @escaping @Sendable (_ call: Int) -> Void) { self.during = during }

    func activate() throws(Errno) {}
    func deactivate() {}

    func copy(_ folios: UnsafeBufferPointer<FolioCopy>, copied: UnsafeMutableBufferPointer<Bool>) {
        let call = calls.add(1, ordering: .relaxed).newValue
        for folio in folios { folio.destination.copyMemory(from: folio.source, byteCount: folio.length / 2) }
        during(call)
        for (index, folio) in folios.enumerated() {
            (folio.destination + folio.length / 2).copyMemory(from: folio.source + folio.length / 2, byteCount: folio.length / 2)
            copied[index] = true
        }
    }
}

/// Transactional batches (`migration/transactional`) and shadows (`tiering/shadows`), in
/// process, on real memfd-backed spaces, with the client's side played through the pin
/// protocol from inside the copy.
struct TransactionalMigrationTests {
    let fast = Tier(spec: TierSpec(name: "fast", sizeBytes: 8 << 20), index: 0)
    let slow = Tier(spec: TierSpec(name: "slow", sizeBytes: 8 << 20), index: 1)

    final class Client: @unchecked Sendable {
        let space: AddressSpace
        let pins: PinTable
        /// Each tier's mapping, as a client holds its own: reached without the space's lock,
        /// which a batch holds while it copies.
        let bases: [UnsafeMutableRawPointer]
        init(_ space: AddressSpace, marksWrites: Bool = true) throws {
            self.space = space
            pins = try space.attach(shared: false, marksWrites: marksWrites)
            bases = space.locked { metadata in space.tiers.indices.map { metadata.address(tier: $0, offset: 0) } }
        }

        /// Pins without waiting past one slice: `.daemonGone` means the folio is frozen.
        func tryPin(_ handle: Int, for access: PinAccess) -> PinOutcome {
            PinProtocol.pin(space.entry(handle), in: pins, for: access) { false }
        }

        /// Fills the folio with `value` under a write pin taken at once, if it can be.
        @discardableResult
        func write(_ handle: Int, _ value: UInt8) -> Bool {
            guard tryPin(handle, for: .write) == .pinned else { return false }
            defer { PinProtocol.unpin(space.entry(handle), in: pins, for: .write) }
            bytes(handle).initializeMemory(as: UInt8.self, repeating: value)
            return true
        }

        /// The folio's bytes where its shared entry points now.
        func bytes(_ handle: Int) -> UnsafeMutableRawBufferPointer {
            let entry = space.entry(handle)
            let (tier, offset) = entry.placement
            return UnsafeMutableRawBufferPointer(start: bases[tier] + offset, count: FolioTableLayout.bytes(order: entry.order))
        }

        func holds(_ handle: Int, only value: UInt8) -> Bool { bytes(handle).allSatisfy { $0 == value } }
    }

    /// A pipeline whose only copier runs `during` inside each copy.
    func pipeline(transactional: Bool = true, during: @escaping @Sendable (Int) -> Void = { _ in }) -> (MigrationPipeline, InterleavingMigrator) {
        let migrator = InterleavingMigrator(during: during)
        let pipeline = MigrationPipeline(slot: MigratorSlot(fallback: migrator, offload: []))
        pipeline.transactional = transactional
        return (pipeline, migrator)
    }

    func migrate(_ pipeline: MigrationPipeline, _ space: AddressSpace, _ handles: [Int], to tier: Int, _ reason: MigrationReason = .syscall) throws -> [FolioResult] {
        try pipeline.migrate(MigrationRequest(handles: handles, targetTier: tier, reason: reason), in: space).get().results
    }

    @Test func aReadPin_duringTheCopy_neitherWaitsNorStopsTheCommit() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let handles = try space.allocate(tier: 0, order: 9, count: 2)
        handles.forEach { client.write($0, 0x5A) }
        let outcomes = Mutex<[PinOutcome]>([])
        let (pipeline, _) = self.pipeline { _ in
            for handle in handles {
                let outcome = client.tryPin(handle, for: .read)
                outcomes.withLock { $0.append(outcome) }
                if outcome == .pinned { PinProtocol.unpin(space.entry(handle), in: client.pins, for: .read) }
            }
        }
        #expect(try migrate(pipeline, space, handles, to: 1) == [.tier(1), .tier(1)])
        #expect(outcomes.withLock { $0 } == [.pinned, .pinned])
        #expect(pipeline.statistics[.txCommitted] == 2)
        #expect(pipeline.statistics[.txAborted] == 0)
        #expect(handles.allSatisfy { client.holds($0, only: 0x5A) })
    }

    @Test func withTransactionalOff_aReadPinWaitsForTheCopy() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let handle = try space.allocate(tier: 0, order: 0, count: 1)[0]
        let outcome = Mutex<PinOutcome?>(nil)
        let (pipeline, _) = self.pipeline(transactional: false) { _ in outcome.withLock { $0 = client.tryPin(handle, for: .read) } }
        #expect(try migrate(pipeline, space, [handle], to: 1) == [.tier(1)])
        #expect(outcome.withLock { $0 } == .daemonGone)
        #expect(pipeline.statistics[.txCommitted] == 0)
    }

    /// The commit check: a write pin taken during the copy makes the copy stale; it is
    /// discarded and the folio copied again, so the write reaches the destination.
    @Test func aWrite_duringTheCopy_abortsItAndSurvives() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let handle = try space.allocate(tier: 0, order: 9, count: 1)[0]
        client.write(handle, 1)
        let (pipeline, migrator) = self.pipeline { call in
            if call == 1 { #expect(client.write(handle, 2)) }
        }
        #expect(try migrate(pipeline, space, [handle], to: 1) == [.tier(1)])
        #expect(client.holds(handle, only: 2))
        #expect(pipeline.statistics[.txAborted] == 1)
        #expect(pipeline.statistics[.txCommitted] == 1)
        #expect(migrator.calls.load(ordering: .relaxed) == 2)
    }

    /// A writer that writes during every copy: after the last transactional pass the folio is
    /// copied frozen (where the writer cannot pin), so it moves, with the last write.
    @Test func aWriterRacingEveryPass_isCopiedFrozenAndNothingIsLost() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let handle = try space.allocate(tier: 0, order: 4, count: 1)[0]
        let written = Mutex<[Bool]>([])
        let (pipeline, _) = self.pipeline { call in
            let wrote = client.write(handle, UInt8(call))
            written.withLock { $0.append(wrote) }
        }
        #expect(try migrate(pipeline, space, [handle], to: 1) == [.tier(1)])
        let passes = MigrationPipeline.maxTransactionalPasses
        #expect(written.withLock { $0 } == Array(repeating: true, count: passes) + [false])
        #expect(client.holds(handle, only: UInt8(passes)))
        #expect(pipeline.statistics[.txAborted] == UInt64(passes))
        #expect(pipeline.statistics[.txFrozenCopies] == 1)
        #expect(pipeline.statistics[.foliosMigrated] == 1)
    }

    @Test func aWritePinHeldAtTheStart_isNotCopiedUntilItEnds() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let handle = try space.allocate(tier: 0, order: 0, count: 1)[0]
        #expect(client.tryPin(handle, for: .write) == .pinned)
        let (pipeline, migrator) = self.pipeline()
        #expect(try migrate(pipeline, space, [handle], to: 1) == [.failed(.resourceBusy)])
        // No unfrozen copy ran, and the frozen one found the pin too: nothing was copied.
        #expect(migrator.calls.load(ordering: .relaxed) == 0)
        #expect(pipeline.statistics[.txFrozenCopies] == 0)
        #expect(pipeline.statistics[.txAborted] == UInt64(MigrationPipeline.maxTransactionalPasses))
        #expect(slow.freeBytes == 8 << 20)
    }

    /// A client that attached without marking its writes keeps the space's batches frozen.
    @Test func anAttachmentThatDoesNotMarkWrites_makesBatchesFrozen() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let legacy = try space.attach(shared: false, marksWrites: false)
        let handle = try space.allocate(tier: 0, order: 0, count: 1)[0]
        let outcome = Mutex<PinOutcome?>(nil)
        let (pipeline, _) = self.pipeline { _ in
            let pinned = client.tryPin(handle, for: .read)
            outcome.withLock { $0 = pinned }
            if pinned == .pinned { PinProtocol.unpin(space.entry(handle), in: client.pins, for: .read) }
        }
        #expect(try migrate(pipeline, space, [handle], to: 1) == [.tier(1)])
        #expect(outcome.withLock { $0 } == .daemonGone)
        space.detach(legacy)
        #expect(try migrate(pipeline, space, [handle], to: 0) == [.tier(0)])
        #expect(pipeline.statistics[.txCommitted] == 1)
    }

    // MARK: shadows

    @Test func aCleanFolio_promotedAndDemoted_isRepointedToItsShadowWithNoCopy() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let handle = try space.allocate(tier: 1, order: 9, count: 1)[0]
        client.write(handle, 7)
        let (pipeline, _) = self.pipeline()
        #expect(try migrate(pipeline, space, [handle], to: 0, .promotion) == [.tier(0)])
        #expect(slow.shadows.bytes == 2 << 20)
        #expect(slow.availableBytes == 8 << 20)
        let copied = pipeline.statistics[.bytesCopied]
        _ = client.bytes(handle).first  // read: no write pin
        #expect(try migrate(pipeline, space, [handle], to: 1, .demotion) == [.tier(1)])
        #expect(pipeline.statistics[.bytesCopied] == copied)
        #expect(slow.shadows.hits == 1)
        #expect(slow.shadows.bytes == 0)
        #expect(fast.freeBytes == 8 << 20)
        #expect(client.holds(handle, only: 7))
    }

    /// The shadow invalidation: a write after the promotion makes the shadow stale, so the
    /// demotion copies, and the write reaches the demoted folio. The copy is a transactional
    /// one (committed, not frozen), so readers do not wait for it either.
    @Test func aFolioWrittenAfterItsPromotion_isCopiedOnDemotion() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let handle = try space.allocate(tier: 1, order: 9, count: 1)[0]
        client.write(handle, 7)
        let (pipeline, _) = self.pipeline()
        _ = try migrate(pipeline, space, [handle], to: 0, .promotion)
        client.write(handle, 8)
        let copied = pipeline.statistics[.bytesCopied]
        let committed = pipeline.statistics[.txCommitted]
        #expect(try migrate(pipeline, space, [handle], to: 1, .demotion) == [.tier(1)])
        #expect(pipeline.statistics[.bytesCopied] == copied + (2 << 20))
        #expect(pipeline.statistics[.txCommitted] == committed + 1)
        #expect(pipeline.statistics[.txFrozenCopies] == 0)
        #expect(slow.shadows.hits == 0)
        #expect(client.holds(handle, only: 8))
        #expect(slow.freeBytes == 6 << 20)
    }

    @Test func shadows_goFirstUnderPressure_onFree_andWhenWritten() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let client = try Client(space)
        let promoted = try space.allocate(tier: 1, order: 9, count: 3)
        let (pipeline, _) = self.pipeline()
        _ = try migrate(pipeline, space, promoted, to: 0, .promotion)
        #expect(slow.shadows.bytes == 6 << 20)
        // Pressure: the slow tier is full of shadows and one folio; 3 more folios fit.
        _ = try space.allocate(tier: 1, order: 9, count: 1)
        let filling = try space.allocate(tier: 1, order: 9, count: 3)
        #expect(slow.shadows.bytes == 0)
        #expect(slow.freeBytes == 0)
        _ = space.free(filling)
        // Free and write drop the rest.
        _ = try migrate(pipeline, space, promoted, to: 1, .demotion)
        _ = try migrate(pipeline, space, promoted, to: 0, .promotion)
        #expect(slow.shadows.bytes == 6 << 20)
        _ = space.free([promoted[0]])
        #expect(slow.shadows.bytes == 4 << 20)
        client.write(promoted[1], 3)
        #expect(slow.shadows.dropWritten() == 1)
        #expect(slow.shadows.bytes == 2 << 20)
        space.destroy()
        #expect(slow.shadows.bytes == 0)
        #expect(slow.freeBytes == 8 << 20)
    }

    /// A restarted daemon adopts the space from its memfds: the shadow's block is named by no
    /// entry, so it comes back free, and a folio written after its promotion is copied down.
    @Test func anAdoptedSpace_hasNoShadow_andAWriteSinceThePromotionSurvivesTheDemotion() throws {
        let before = try AddressSpace(id: 3, name: "db", owner: 0, tiers: [fast, slow])
        let handle = try before.allocate(tier: 1, order: 9, count: 1)[0]
        let (pipeline, _) = self.pipeline()
        try Client(before).write(handle, 1)
        _ = try migrate(pipeline, before, [handle], to: 0, .promotion)
        #expect(slow.shadows.bytes == 2 << 20)
        try Client(before).write(handle, 2)
        let fds = try before.sharedFDs.map { try $0.duplicate() }
        let stored = StoredSpace(id: 3, name: "db", owner: 0, table: fds[0], tiers: Array(fds.dropFirst()))
        // The next daemon's tiers: the same sizes, nothing charged.
        let tiers = [Tier(spec: fast.spec, index: 0), Tier(spec: slow.spec, index: 1)]
        let (after, _) = try AddressSpace.adopt(stored, tiers: tiers)
        #expect(tiers[1].freeBytes == 8 << 20 && tiers[1].shadows.bytes == 0)
        #expect(try migrate(pipeline, after, [handle], to: 1, .demotion) == [.tier(1)])
        #expect(pipeline.statistics[.bytesCopied] == 2 * (2 << 20))
        #expect(try Client(after).holds(handle, only: 2))
    }

    @Test func noShadowIsKept_whenShadowsAreOff_orForAnotherReason() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
        let handles = try space.allocate(tier: 1, order: 0, count: 2)
        let (pipeline, _) = self.pipeline()
        _ = try migrate(pipeline, space, [handles[0]], to: 0, .syscall)
        pipeline.keepsShadows = false
        _ = try migrate(pipeline, space, [handles[1]], to: 0, .promotion)
        #expect(slow.shadows.bytes == 0)
    }
}
