import FolioClient
import TestSupport
import Foundation
import SystemPackage
import Testing

/// Faults injected into a running daemon: failing DMA descriptors, wedged channels, a full
/// destination tier. Every folio's data survives and every failure is counted once.
@Suite(.serialized)
struct FaultInjectionTests {
    func fill(_ client: FolioClient, _ handles: [FolioHandle], seed: UInt8) throws {
        for handle in handles { try client.withPinnedFolio(handle) { $0.initializeMemory(as: UInt8.self, repeating: seed &+ UInt8(handle.index % 200)) } }
    }

    func intact(_ client: FolioClient, _ handles: [FolioHandle], seed: UInt8) throws -> Bool {
        try handles.allSatisfy { handle in try client.withPinnedFolio(handle) { $0.allSatisfy { $0 == seed &+ UInt8(handle.index % 200) } } }
    }

    @Test func failingDescriptors_fallBackAndAreCountedOnce() throws {
        let daemon = try RunningDaemon(tierBytes: 64 << 20)
        let client = try daemon.client()
        let handles = try client.allocate(tier: 0, order: 2, count: 200)
        try fill(client, handles, seed: 3)
        try daemon.setKnob("migration/offload_migrator", "dcbm")
        try daemon.setKnob("dcbm/nr_dma_chan", "4")
        try daemon.setKnob("debug/fail_dma/probability", "100")
        try daemon.setKnob("debug/fail_dma/times", "37")
        for target in [1, 0, 1, 0] { #expect(try client.migrate(handles, to: target).results.allSatisfy { $0 == .tier(target) }) }
        #expect(try intact(client, handles, seed: 3))
        #expect(daemon.knob("dcbm/folios_failures") == "37")
        #expect(daemon.knob("migration/stats/fallbacks") == "37")
        #expect(daemon.knob("dcbm/folios_migrated") == String(4 * 200 - 37))
        #expect(daemon.knob("debug/fail_dma/times") == "0")
    }

    @Test func aWedgedChannel_timesOutAndEveryFolioArrivesThroughTheFallback() throws {
        let daemon = try RunningDaemon(tierBytes: 64 << 20, extraConfig: "[dcbm]\ntimeout_ms = 100\n")
        let client = try daemon.client()
        let handles = try client.allocate(tier: 0, order: 4, count: 16)
        try fill(client, handles, seed: 9)
        try daemon.setKnob("dcbm/offloading", "1")
        try daemon.setKnob("dcbm/nr_dma_chan", "2")
        try daemon.setKnob("debug/fail_dma/stall", "1")
        let started = Date()
        #expect(try client.migrate(handles, to: 1).results.allSatisfy { $0 == .tier(1) })
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try intact(client, handles, seed: 9))
        #expect(daemon.knob("dcbm/timeouts") == "1")
        #expect(daemon.knob("dcbm/folios_failures") == "16")
        try daemon.setKnob("debug/fail_dma/stall", "0")
        #expect(try client.migrate(handles, to: 0).results.allSatisfy { $0 == .tier(0) })
        #expect(daemon.knob("dcbm/folios_migrated") == "16")
        #expect(try intact(client, handles, seed: 9))
    }

    @Test func aFullDestinationTier_isENOMEMPerFolioAndLeavesThemWhereTheyWere() throws {
        let daemon = try RunningDaemon(tierBytes: 64 << 20)
        let client = try daemon.client()
        _ = try client.allocate(tier: 1, order: 9, count: 30)  // 60 of slow's 64 MiB
        let handles = try client.allocate(tier: 0, order: 9, count: 4)
        try fill(client, handles, seed: 5)
        let results = try client.migrate(handles, to: 1).results
        #expect(results.filter { $0 == .tier(1) }.count == 2)
        #expect(results.filter { $0 == .failed(.noMemory) }.count == 2)
        #expect(try intact(client, handles, seed: 5))
        #expect(handles.filter { client.tier(of: $0) == 0 }.count == 2)
        #expect(daemon.knob("migration/stats/folios_failed") == "2")
        #expect(daemon.knob("tiers/slow/free_bytes") == "0")
    }
}
