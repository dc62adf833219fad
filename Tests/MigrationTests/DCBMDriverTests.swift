import Testing
@testable import Migration

struct DCBMDriverTests {
    /// Copies `buffers` through a slot whose active migrator is `driver`.
    func migrate(_ buffers: FolioBuffers, with driver: DCBMDriver) throws -> MigratorSlot.CopyReport {
        let slot = MigratorSlot(fallback: KernelCopyDriver(), offload: [driver])
        try slot.startOffloading("dcbm")
        defer { try? slot.stopOffloading("dcbm") }
        return buffers.withBatch { slot.copy($0) }
    }

    @Test(arguments: [1, 2, 4, 16])
    func copy_onTheSoftwareEngine_deliversEveryFolio(channels: Int) throws {
        let driver = DCBMDriver(engine: SoftwareDMAEngine(faults: FaultInjector()))
        try driver.setChannels(channels)
        let buffers = FolioBuffers(lengths: [4096, 8192, 2 << 20, 16384, 4096, 65536, 4096], seed: 3)
        let report = try migrate(buffers, with: driver)
        #expect(report == .init(migrator: "dcbm", copied: 7, fellBack: 0))
        #expect(buffers.damagedFolios().isEmpty)
        #expect(driver.stats.foliosMigrated == 7)
    }

    @Test func copy_withInjectedFailures_fallsBackAndCountsEachFailureOnce() throws {
        let faults = FaultInjector()
        faults.probability = 100
        faults.times = 5
        let driver = DCBMDriver(engine: SoftwareDMAEngine(faults: faults))
        try driver.setChannels(4)
        let buffers = FolioBuffers(count: 32, length: 16384, seed: 4)
        let report = try migrate(buffers, with: driver)
        #expect(report.fellBack == 5)
        #expect(faults.times == 0)
        #expect(driver.stats.foliosFailures == 5)
        #expect(driver.stats.foliosMigrated == 27)
        #expect(buffers.damagedFolios().isEmpty)
    }

    @Test func copy_withRandomFailures_accountsForEveryFolio() throws {
        let faults = FaultInjector()
        faults.probability = 30
        faults.times = 1_000_000
        let driver = DCBMDriver(engine: SoftwareDMAEngine(faults: faults))
        try driver.setChannels(3)
        let buffers = FolioBuffers(count: 200, length: 4096, seed: 5)
        let report = try migrate(buffers, with: driver)
        let injected = 1_000_000 - faults.times
        #expect(injected > 0 && injected < 200)
        #expect(report.fellBack == injected)
        #expect(driver.stats.foliosFailures == UInt64(injected))
        #expect(driver.stats.foliosMigrated + driver.stats.foliosFailures == 200)
        #expect(buffers.damagedFolios().isEmpty)
    }

    @Test func copy_withChannelsCompletingInReverse_isCorrect() throws {
        let engine = ReversingDMAEngine(lanes: 4)
        let driver = DCBMDriver(engine: engine)
        try driver.setChannels(4)
        let buffers = FolioBuffers(lengths: (0..<13).map { 4096 << ($0 % 4) }, seed: 6)
        let report = try migrate(buffers, with: driver)
        #expect(engine.completionOrder.withLock { $0 } == [3, 2, 1, 0])
        #expect(report == .init(migrator: "dcbm", copied: 13, fellBack: 0))
        #expect(buffers.damagedFolios().isEmpty)
    }

    @Test func copy_whenAChannelNeverCompletes_timesOutAndFallsBack() throws {
        let engine = StallingDMAEngine(stalled: 1)
        let driver = DCBMDriver(engine: engine, timeout: .milliseconds(50))
        try driver.setChannels(3)
        let buffers = FolioBuffers(count: 9, length: 8192, seed: 7)
        let report = try migrate(buffers, with: driver)
        #expect(driver.timedOutBatches == 1)
        #expect(engine.terminated.load(ordering: .relaxed) == 1)
        #expect(report.fellBack == 3)
        #expect(driver.stats.foliosFailures == 3)
        #expect(buffers.damagedFolios().isEmpty)
    }

    @Test func copy_withMoreChannelsThanFolios_usesOneChannelPerFolio() throws {
        let driver = DCBMDriver(engine: SoftwareDMAEngine(faults: FaultInjector()))
        try driver.setChannels(16)
        let buffers = FolioBuffers(count: 2, length: 4096, seed: 8)
        #expect(try migrate(buffers, with: driver).copied == 2)
        #expect(buffers.damagedFolios().isEmpty)
    }

    @Test func slice_cutsTheBatchIntoContiguousLanes() {
        let lanes = (0..<3).map { DCBMDriver.slice($0, of: 3, count: 10) }
        #expect(lanes == [0..<3, 3..<6, 6..<10])
    }
}
