import FolioMemory
import FolioProtocol
import FolioSharedMemory
import Foundation
import Sysfs
import SystemPackage
import Testing
@testable import Migration

/// The batch pipeline in-process, on real memfd-backed address spaces.
struct MigrationPipelineTests {
    let core = MigrationCore()
    let fast = Tier(spec: TierSpec(name: "fast", sizeBytes: 32 << 20), index: 0)
    let slow = Tier(spec: TierSpec(name: "slow", sizeBytes: 8 << 20), index: 1)

    func makeSpace() throws -> AddressSpace {
        try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
    }

    /// Writes `seed`-derived bytes into each folio, as a client would (under a pin).
    func fill(_ space: AddressSpace, _ handles: [Int], seed: UInt8) {
        space.locked { metadata in
            for handle in handles {
                let record = metadata.record(handle)!
                let bytes = metadata.address(tier: record.tier, offset: record.offset).assumingMemoryBound(to: UInt8.self)
                for index in 0..<record.bytes { bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ handle &+ Int(seed)) }
            }
        }
    }

    func intact(_ space: AddressSpace, _ handles: [Int], seed: UInt8) -> Bool {
        space.locked { metadata in
            handles.allSatisfy { handle in
                let record = metadata.record(handle)!
                let bytes = metadata.address(tier: record.tier, offset: record.offset).assumingMemoryBound(to: UInt8.self)
                return (0..<record.bytes).allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ handle &+ Int(seed)) }
            }
        }
    }

    @Test(arguments: ["kernel", "mtcopy", "dcbm"])
    func migrate_foliosOfEveryOrder_backAndForth_keepsEveryByte(migrator: String) throws {
        try core.slot.switchTo(migrator)
        let space = try makeSpace()
        let handles = try (0...9).flatMap { try space.allocate(tier: 0, order: $0, count: 1) }
        fill(space, handles, seed: 5)
        for (target, name) in [(1, "slow"), (0, "fast"), (1, "slow")] {
            let result = try core.pipeline.migrate(MigrationRequest(handles: handles, targetTier: target, reason: .demotion), in: space).get()
            #expect(result.results == Array(repeating: .tier(target), count: handles.count), "to \(name)")
            #expect(handles.allSatisfy { space.entry($0).tier == target })
            #expect(intact(space, handles, seed: 5))
        }
        #expect(fast.freeBytes == 32 << 20)
    }

    @Test func migrate_reportsEachFolioOnItsOwn() throws {
        let space = try makeSpace()
        let moving = try space.allocate(tier: 0, order: 0, count: 1)[0]
        let there = try space.allocate(tier: 1, order: 0, count: 1)[0]
        let big = try space.allocate(tier: 0, order: 9, count: 4)
        let result = try core.pipeline.migrate(MigrationRequest(handles: [moving, there, 4000] + big, targetTier: 1, reason: .syscall), in: space).get()
        #expect(result.results[0...2] == [.tier(1), .tier(1), .failed(.noSuchFileOrDirectory)])
        // slow holds 8 MiB, two of it already taken by order-0 folios: three 2 MiB folios fit.
        #expect(result.results[3...].filter { $0 == .failed(.noMemory) }.count == 1)
        #expect(result.results[3...].filter { $0 == .tier(1) }.count == 3)
    }

    @Test func migrate_ofAFolioPinnedThroughEveryPass_failsWithEBUSYAndLeavesIt() throws {
        let space = try makeSpace()
        let handles = try space.allocate(tier: 0, order: 0, count: 2)
        fill(space, handles, seed: 9)
        let pins = try space.attach(shared: false)
        PinProtocol.pin(space.entry(handles[0]), in: pins)
        let result = try core.pipeline.migrate(MigrationRequest(handles: handles, targetTier: 1, reason: .syscall), in: space).get()
        PinProtocol.unpin(space.entry(handles[0]), in: pins)
        #expect(result.results == [.failed(.resourceBusy), .tier(1)])
        #expect(space.entry(handles[0]).tier == 0)
        #expect(intact(space, handles, seed: 9))
        #expect(slow.freeBytes == (8 << 20) - 4096)
        #expect(core.pipeline.statistics[.foliosBusy] == 1)
    }

    @Test func migrate_cutsRequestsIntoBatchesOfBatchSize() throws {
        core.pipeline.batchSize = 3
        let space = try makeSpace()
        let handles = try space.allocate(tier: 0, order: 0, count: 10)
        let result = try core.pipeline.migrate(MigrationRequest(handles: handles, targetTier: 1, reason: .syscall), in: space).get()
        #expect(result.batches == 4)
        #expect(core.pipeline.statistics[.batches] == 4)
        #expect(core.pipeline.statistics[.bytesCopied] == 10 * 4096)
    }

    @Test func migrate_forAMaskedOutReason_copiesWithKernel() throws {
        try core.slot.switchTo("mtcopy")
        core.pipeline.reasonMask = 1 << MigrationReason.promotion.rawValue
        let space = try makeSpace()
        let handles = try space.allocate(tier: 0, order: 0, count: 4)
        _ = core.pipeline.migrate(MigrationRequest(handles: handles, targetTier: 1, reason: .demotion), in: space)
        #expect(core.mtcopy.stats.foliosMigrated == 0)
        #expect(core.kernel.stats.foliosMigrated == 4)
        _ = core.pipeline.migrate(MigrationRequest(handles: handles, targetTier: 0, reason: .promotion), in: space)
        #expect(core.mtcopy.stats.foliosMigrated == 4)
    }

    @Test(arguments: [
        MigrationRequest(handles: [], targetTier: 1, reason: .syscall),
        MigrationRequest(handles: [0], targetTier: 2, reason: .syscall),
        MigrationRequest(handles: [0, 0], targetTier: 1, reason: .syscall),
    ])
    func migrate_ofAMalformedRequest_failsWithEINVAL(request: MigrationRequest) throws {
        let space = try makeSpace()
        _ = try space.allocate(tier: 0, order: 0, count: 1)
        #expect(throws: Errno.invalidArgument) { try core.pipeline.migrate(request, in: space).get() }
    }

    @Test func reasonMaskKnob_takesNamesAllNoneAndNumbers() throws {
        let tree = SysfsTree()
        core.registerKnobs(in: tree)
        let knob = try tree.attribute("migration/reason_mask")
        func show() -> String { String(decoding: knob.show(), as: UTF8.self) }
        #expect(show() == "syscall,demotion,promotion,compaction\n")
        _ = try knob.write("demotion,compaction\n")
        #expect(show() == "demotion,compaction\n")
        _ = try knob.write("none")
        #expect(show() == "none\n")
        _ = try knob.write("0x3")
        #expect(show() == "syscall,demotion\n")
        _ = try knob.write("all")
        #expect(show() == "syscall,demotion,promotion,compaction\n")
        for bad in ["16", "bogus", "syscall,", "demotion compaction", ""] where !bad.isEmpty {
            #expect(throws: Errno.invalidArgument) { try knob.write(bad) }
        }
        #expect(show() == "syscall,demotion,promotion,compaction\n")
        #expect(throws: Errno.invalidArgument) { try tree.attribute("migration/batch_size").write("513") }
    }
}

/// `migration/stats/batch_latency_ns` and `first_folio_ns`: the latest batches' and requests'
/// latencies as `p50 p99 max samples`; writing 0 forgets them, anything else is EINVAL.
struct LatencyKnobTests {
    @Test func everyBatchAndEveryRequestsFirstBatch_isRecorded() throws {
        let core = MigrationCore()
        let tree = SysfsTree()
        let tiers = [Tier(spec: TierSpec(name: "fast", sizeBytes: 8 << 20), index: 0), Tier(spec: TierSpec(name: "slow", sizeBytes: 8 << 20), index: 1)]
        core.registerKnobs(in: tree)
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: tiers)
        let handles = try space.allocate(tier: 0, order: 0, count: 8)
        _ = try tree.attribute("migration/batch_size").write("2\n")
        for target in [1, 0] { _ = try core.pipeline.migrate(MigrationRequest(handles: handles, targetTier: target, reason: .syscall), in: space).get() }
        func summary(_ name: String) throws -> [UInt64] {
            String(decoding: try tree.attribute("migration/stats/\(name)").show(), as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).map { UInt64($0)! }
        }
        let batches = try summary("batch_latency_ns")
        #expect(batches.count == 4 && batches[3] == 8, "8 batches of 2: \(batches)")
        #expect(batches[0] > 0 && batches[0] <= batches[1] && batches[1] <= batches[2])
        let first = try summary("first_folio_ns")
        #expect(first[3] == 2 && first[0] > 0, "two requests: \(first)")
        #expect(throws: Errno.invalidArgument) { _ = try tree.attribute("migration/stats/first_folio_ns").write("1\n") }
        _ = try tree.attribute("migration/stats/batch_latency_ns").write("0\n")
        #expect(try summary("batch_latency_ns") == [0, 0, 0, 0])
    }
}
