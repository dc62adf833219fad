import SystemCalls
import SystemPackage
import Testing
@testable import FolioMemory

/// A restarted daemon adopts a named space from its memfds alone: every folio's bytes, handle
/// and tier as before, the allocators rebuilt from the folio table, a folio frozen
/// mid-migration thawed on its old block and its half-done destination free again.
struct AdoptionTests {
    static func tiers() -> [Tier] {
        [Tier(spec: TierSpec(name: "fast", sizeBytes: 8 << 20), index: 0), Tier(spec: TierSpec(name: "slow", sizeBytes: 4 << 20), index: 1)]
    }

    /// What a stored space hands to the next daemon: duplicates of its memfds.
    static func stored(_ space: AddressSpace) throws -> StoredSpace {
        let fds = try space.sharedFDs.map { try $0.duplicate() }
        return StoredSpace(id: space.id, name: space.name ?? "", owner: space.owner, table: fds[0], tiers: Array(fds.dropFirst()))
    }

    static func fill(_ space: AddressSpace, _ handle: Int) {
        space.locked { metadata in
            let record = metadata.record(handle)!
            let words = UnsafeMutableRawBufferPointer(start: metadata.address(tier: record.tier, offset: record.offset), count: record.bytes).bindMemory(to: UInt64.self)
            for index in words.indices { words[index] = UInt64(handle) << 32 | UInt64(index) }
        }
    }

    static func intact(_ space: AddressSpace, _ handle: Int) -> Bool {
        space.locked { metadata in
            guard let record = metadata.record(handle) else { return false }
            let words = UnsafeMutableRawBufferPointer(start: metadata.address(tier: record.tier, offset: record.offset), count: record.bytes).bindMemory(to: UInt64.self)
            return words.indices.allSatisfy { words[$0] == UInt64(handle) << 32 | UInt64($0) }
        }
    }

    @Test func aKilledDaemonsSpace_comesBackWhole() throws {
        let before = try AddressSpace(id: 7, name: "db", owner: 1000, tiers: Self.tiers())
        var handles = try before.allocate(tier: 0, order: 0, count: 5) + before.allocate(tier: 0, order: 9, count: 2) + before.allocate(tier: 1, order: 3, count: 4)
        _ = before.free([handles[1], handles[3]])
        handles.removeAll { $0 == 1 || $0 == 3 }
        for handle in handles { Self.fill(before, handle) }
        // Killed mid-migration: handle 0 frozen, its destination reserved and half written.
        let destination = try #require(before.locked { metadata -> Int? in
            #expect(metadata.freeze(0))
            return metadata.reserve(tier: 1, order: 0, count: 1).first
        })
        let tiers = Self.tiers()
        let (space, report) = try AddressSpace.adopt(try Self.stored(before), tiers: tiers)
        #expect(report == { var r = AdoptionReport(); r.folios = 9; r.bytes = 3 * 4096 + 2 * (2 << 20) + 4 * 32768; r.thawed = 1; return r }())
        for handle in handles {
            #expect(Self.intact(space, handle), "handle \(handle)")
            #expect(space.entry(handle).seq.load(ordering: .relaxed) & 1 == 0)
        }
        #expect(space.locked { $0.record(0)?.tier } == 0)
        #expect(tiers[0].freeBytes == (8 << 20) - 3 * 4096 - 2 * (2 << 20))
        #expect(tiers[1].freeBytes == (4 << 20) - 4 * 32768, "the half-done destination at \(destination) is free again")
        // New folios take the freed handles first and never land on an adopted folio.
        let more = try space.allocate(tier: 0, order: 0, count: 2) + space.allocate(tier: 1, order: 0, count: 100)
        #expect(Array(more.prefix(2)) == [1, 3])
        for handle in more { Self.fill(space, handle) }
        for handle in handles { #expect(Self.intact(space, handle), "handle \(handle) after new allocations") }
        #expect(throws: Errno.noMemory) { try space.allocate(tier: 0, order: 9, count: 3) }
    }

    @Test func scribbledEntries_areDroppedAndTheRestKept() throws {
        let before = try AddressSpace(id: 2, name: "x", owner: 0, tiers: Self.tiers())
        let handles = try before.allocate(tier: 0, order: 2, count: 3)
        for handle in handles { Self.fill(before, handle) }
        before.entry(handles[1]).repoint(tier: 0, offset: before.entry(handles[0]).placement.offset + 4096)  // inside folio 0
        before.entry(handles[2]).order = 12
        let (space, report) = try AddressSpace.adopt(try Self.stored(before), tiers: Self.tiers())
        #expect(report.folios == 1 && report.dropped == 2)
        #expect(Self.intact(space, handles[0]))
        #expect(!space.entry(handles[1]).isAllocated && !space.entry(handles[2]).isAllocated)
    }

    @Test func anotherTierLayout_isRefusedWithEINVAL() throws {
        let before = try AddressSpace(id: 3, name: "y", owner: 0, tiers: Self.tiers())
        let resized = [Tier(spec: TierSpec(name: "fast", sizeBytes: 16 << 20), index: 0), Tier(spec: TierSpec(name: "slow", sizeBytes: 4 << 20), index: 1)]
        #expect(throws: SystemCallError.self) { _ = try AddressSpace.adopt(try Self.stored(before), tiers: resized) }
        #expect(throws: SystemCallError.self) { _ = try AddressSpace.adopt(try Self.stored(before), tiers: Array(Self.tiers().prefix(1))) }
        #expect(resized[0].freeBytes == 16 << 20, "a refused adoption charges nothing")
    }
}
