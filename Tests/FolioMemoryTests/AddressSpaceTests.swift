import FolioSharedMemory
import Foundation
import Synchronization
import SystemPackage
import Testing
@testable import FolioMemory

struct AddressSpaceTests {
    let fast = Tier(spec: TierSpec(name: "fast", sizeBytes: 8 << 20), index: 0)
    let slow = Tier(spec: TierSpec(name: "slow", sizeBytes: 4 << 20), index: 1)

    func makeSpace() throws -> AddressSpace {
        try AddressSpace(id: 1, name: nil, owner: 0, tiers: [fast, slow])
    }

    @Test func allocate_chargesTheTierAndFillsTheSharedTable() throws {
        let space = try makeSpace()
        let handles = try space.allocate(tier: 1, order: 2, count: 3)
        #expect(handles.count == 3)
        #expect(slow.freeBytes == (4 << 20) - 3 * 16384)
        #expect(slow.foliosPerOrder[2] == 3)
        for handle in handles {
            let entry = space.entry(handle)
            #expect(entry.isAllocated && entry.tier == 1 && entry.order == 2)
            #expect(entry.seq.load(ordering: .relaxed) & 1 == 0)
        }
    }

    @Test func freedSmallBlocks_comeBackFirst_andMergeWhenALargerBlockIsWanted() throws {
        let space = try makeSpace()
        // The whole 8 MiB tier in 4 KiB folios, freed: kept for the next small allocations.
        let small = try space.allocate(tier: 0, order: 0, count: 2048)
        let offsets = small.map { space.entry($0).placement.offset }
        #expect(space.free(small).allSatisfy { $0 == nil })
        let again = try space.allocate(tier: 0, order: 0, count: 16)
        #expect(Set(again.map { space.entry($0).placement.offset }).isSubset(of: offsets), "the blocks just freed are reused")
        #expect(space.free(again).allSatisfy { $0 == nil })
        // Every 2 MiB block is needed now: the cached pages must merge back for it.
        let large = try space.allocate(tier: 0, order: 9, count: 4)
        #expect(Set(large.map { space.entry($0).placement.offset }) == [0, 2 << 20, 4 << 20, 6 << 20])
        #expect(fast.freeBytes == 0)
    }

    @Test func allocate_isAllOrNothing() throws {
        let space = try makeSpace()
        #expect(throws: Errno.noMemory) { try space.allocate(tier: 1, order: 9, count: 3) }
        #expect(slow.freeBytes == 4 << 20)
        #expect(try space.allocate(tier: 1, order: 9, count: 2).count == 2)
    }

    @Test(arguments: [(0, 10, 1), (2, 0, 1), (0, 0, 0), (-1, 0, 1)])
    func allocate_withBadArguments_failsWithEINVAL(tier: Int, order: Int, count: Int) throws {
        let space = try makeSpace()
        #expect(throws: Errno.invalidArgument) { try space.allocate(tier: tier, order: order, count: count) }
    }

    @Test func free_creditsTheTierAndReportsEachHandle() throws {
        let space = try makeSpace()
        let handles = try space.allocate(tier: 0, order: 0, count: 2)
        #expect(space.free(handles + [handles[0], 60000]) == [nil, nil, .noSuchFileOrDirectory, .noSuchFileOrDirectory])
        #expect(fast.freeBytes == 8 << 20)
    }

    @Test func free_ofAPinnedFolio_failsWithEBUSYAndKeepsIt() throws {
        let space = try makeSpace()
        let pins = try space.attach(shared: false)
        let handle = try space.allocate(tier: 0, order: 0, count: 1)[0]
        PinProtocol.pin(space.entry(handle), in: pins)
        #expect(space.free([handle]) == [.resourceBusy])
        PinProtocol.unpin(space.entry(handle), in: pins)
        #expect(space.free([handle]) == [nil])
    }

    @Test func aPinInAnyAttachedTable_keepsTheFolio_andADetachedTablesPinsStopCounting() throws {
        let space = try makeSpace()
        let first = try space.attach()
        let second = try space.attach()
        let handle = try space.allocate(tier: 0, order: 0, count: 1)[0]
        PinProtocol.pin(space.entry(handle), in: second)
        #expect(space.free([handle]) == [.resourceBusy])
        // The second client dies holding its pin: its session drops the table.
        space.detach(second)
        #expect(space.free([handle]) == [nil])
        #expect(first.fd != nil)
    }

    @Test func handles_startAtZeroAndAreReused() throws {
        let space = try makeSpace()
        #expect(try space.allocate(tier: 0, order: 0, count: 3) == [0, 1, 2])
        #expect(space.free([1]) == [nil])
        #expect(try space.allocate(tier: 0, order: 0, count: 2) == [1, 3])
    }

    @Test func aByteBudget_boundsSeveralSpacesTogether() throws {
        let quota = ByteBudget(limit: 3 << 12)
        let first = try AddressSpace(id: 1, name: nil, owner: 7, tiers: [fast, slow], quota: quota)
        let second = try AddressSpace(id: 2, name: nil, owner: 7, tiers: [fast, slow], quota: quota)
        _ = try first.allocate(tier: 0, order: 0, count: 2)
        #expect(throws: Errno.diskQuotaExceeded) { try second.allocate(tier: 0, order: 0, count: 2) }
        #expect(try second.allocate(tier: 0, order: 0, count: 1) == [0])
        #expect(first.free([0]) == [nil])
        #expect(try second.allocate(tier: 1, order: 0, count: 1) == [1])
        second.destroy()
        #expect(quota.heldBytes == 1 << 12)
    }

    @Test func destroy_givesEveryByteBack() throws {
        let space = try makeSpace()
        _ = try space.allocate(tier: 0, order: 9, count: 2)
        _ = try space.allocate(tier: 1, order: 3, count: 5)
        space.destroy()
        #expect(fast.freeBytes == 8 << 20 && slow.freeBytes == 4 << 20)
        #expect(fast.foliosPerOrder.allSatisfy { $0 == 0 })
    }

    @Test func twoSpaces_shareTheTierBudgetButNotMemory() throws {
        let first = try makeSpace()
        let second = try AddressSpace(id: 2, name: nil, owner: 0, tiers: [fast, slow])
        _ = try first.allocate(tier: 1, order: 9, count: 1)
        _ = try second.allocate(tier: 1, order: 9, count: 1)
        #expect(throws: Errno.noMemory) { try first.allocate(tier: 1, order: 0, count: 1) }
        #expect(first.sharedFDs.map(\.rawValue) != second.sharedFDs.map(\.rawValue))
    }
}
