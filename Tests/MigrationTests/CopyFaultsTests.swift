import FolioMemory
import Testing
@testable import Migration

/// `migration/stats/copy_faults`: a copy into a block the allocator handed out takes no page
/// fault, because the first allocation from each 2 MiB block populates all of it. Alone in its
/// suite (and so in its process): the copying threads count into one process-wide counter.
@Suite(.serialized)
struct CopyFaultsTests {
    @Test(arguments: ["kernel", "mtcopy", "dcbm"])
    func copiesIntoFreshTiers_takeNoPageFault(migrator: String) throws {
        let core = MigrationCore()
        try core.slot.switchTo(migrator)
        let tiers = [Tier(spec: TierSpec(name: "fast", sizeBytes: 64 << 20), index: 0), Tier(spec: TierSpec(name: "slow", sizeBytes: 64 << 20), index: 1)]
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: tiers)
        let handles = try space.allocate(tier: 0, order: 9, count: 8) + space.allocate(tier: 0, order: 0, count: 256)
        func move(to target: Int) throws -> UInt64 {
            let before = core.pipeline.statistics[.copyFaults]
            let result = try core.pipeline.migrate(MigrationRequest(handles: handles, targetTier: target, reason: .syscall), in: space).get()
            #expect(result.results.allSatisfy { $0 == .tier(target) })
            return core.pipeline.statistics[.copyFaults] - before
        }
        // The first copy into the slow tier writes 4,608 pages it has never touched: populated
        // when allocated, they do not fault (unpopulated, they took 8,704 faults). A copy
        // thread's very first job may still fault a page or two of its own stack, which a
        // getrusage around the copy cannot tell apart.
        let first = try move(to: 1)
        #expect(first <= 4, "the first copy into fresh blocks faulted \(first) times")
        _ = try move(to: 0)
        let steady = try (0..<4).map { try move(to: 1 - $0 % 2) }
        #expect(steady == [0, 0, 0, 0], "faults per move in steady state: \(steady)")
    }
}
