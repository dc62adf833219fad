import FolioSharedMemory
import Testing
@testable import FolioMemory

/// Access counting in the pin protocol, and the heat `age` folds it into.
struct HeatTests {
    let tier = Tier(spec: TierSpec(name: "fast", sizeBytes: 4 << 20), index: 0)

    @Test func pin_countsOneAccessInTheSharedEntry() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [tier])
        let pins = try space.attach(shared: false)
        let handle = try space.allocate(tier: 0, order: 0, count: 1)[0]
        for _ in 0..<3 {
            PinProtocol.pin(space.entry(handle), in: pins)
            PinProtocol.unpin(space.entry(handle), in: pins)
        }
        #expect(space.entry(handle).accesses.load(ordering: .relaxed) == 3)
        #expect(space.heatMap(tier: 0).map(\.heat) == [3], "pending accesses count before aggregation")
    }

    @Test func age_takesTheCounts_andHalvesTheHeatEachInterval() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [tier])
        let handles = try space.allocate(tier: 0, order: 0, count: 2)
        space.entry(handles[0]).accesses.store(12, ordering: .relaxed)
        #expect(space.age(hotThreshold: 8) == [4096], "one folio of 4 KiB at 12 ≥ 8")
        #expect(space.entry(handles[0]).accesses.load(ordering: .relaxed) == 0)
        #expect(space.age(hotThreshold: 8) == [0], "12 → 6")
        #expect(space.heatMap(tier: 0).map(\.heat) == [6, 0])
        space.entry(handles[1]).accesses.store(.max, ordering: .relaxed)
        _ = space.age(hotThreshold: 8)
        space.entry(handles[1]).accesses.store(.max, ordering: .relaxed)
        _ = space.age(hotThreshold: 8)
        #expect(space.heatMap(tier: 0).map(\.heat) == [1, .max], "saturates instead of wrapping")
    }

    @Test func allocate_startsAReusedHandleCold() throws {
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: [tier])
        let handle = try space.allocate(tier: 0, order: 0, count: 1)[0]
        space.entry(handle).accesses.store(40, ordering: .relaxed)
        _ = space.age(hotThreshold: 8)
        space.entry(handle).accesses.store(5, ordering: .relaxed)
        #expect(space.free([handle]) == [nil])
        #expect(try space.allocate(tier: 0, order: 0, count: 1) == [handle])
        #expect(space.heatMap(tier: 0).map(\.heat) == [0])
    }
}
