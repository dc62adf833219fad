import FolioClient
import TestSupport
import Foundation
import Testing

/// Folios of every order with random bytes move back and forth under each migrator, through a
/// real daemon, and every byte arrives.
@Suite(.serialized)
struct DataIntegrityTests {
    @Test(arguments: ["kernel", "mtcopy", "dcbm"])
    func migrate_everyOrderBackAndForth_keepsEveryByte(migrator: String) throws {
        let daemon = try RunningDaemon()
        try daemon.setKnob("migration/offload_migrator", migrator)
        try daemon.setKnob("mtcopy/threads", "3")
        try daemon.setKnob("dcbm/nr_dma_chan", "2")
        let client = try daemon.client()
        let handles = try (0...9).flatMap { try client.allocate(tier: 0, order: $0, count: 2) }
        var generator = SystemRandomNumberGenerator()
        var expected: [[UInt8]] = []
        for handle in handles {
            expected.append(try client.withPinnedFolio(handle) { folio in
                randomize(folio, using: &generator)
                return Array(folio)
            })
        }
        for target in [1, 0, 1] {
            let reply = try client.migrate(handles, to: target, reason: .demotion)
            #expect(reply.results == Array(repeating: .tier(target), count: handles.count))
            for (index, handle) in handles.enumerated() {
                #expect(client.tier(of: handle) == target)
                #expect(try client.withPinnedFolio(handle) { Array($0) == expected[index] })
            }
        }
        #expect(daemon.knob("\(migrator == "kernel" ? "mtcopy" : migrator)/folios_migrated") == (migrator == "kernel" ? "0" : "60"))
        #expect(daemon.knob("tiers/fast/free_bytes") == String(64 << 20))
    }

    @Test func folioctl_fillMigrateVerify_asTheREADMEShows() throws {
        let daemon = try RunningDaemon()
        let alloc = try daemon.runFolioctl(["--space", "demo", "alloc", "--tier", "fast", "--order", "9", "--count", "4"])
        let handles = alloc.output.split(separator: "\n").map(String.init)
        #expect(alloc.status == 0 && handles.count == 4)
        #expect(try daemon.runFolioctl(["--space", "demo", "fill", "--seed", "7"] + handles).status == 0)
        try daemon.setKnob("mtcopy/offloading", "1")
        let migrate = try daemon.runFolioctl(["--space", "demo", "migrate", "--to", "slow"] + handles + ["9999"])
        #expect(migrate.output == handles.map { "\($0) slow\n" }.joined() + "9999 ENOENT\n")
        #expect(try daemon.runFolioctl(["--space", "demo", "verify", "--seed", "7"] + handles).status == 0)
        let wrongSeed = try daemon.runFolioctl(["--space", "demo", "verify", "--seed", "8"] + handles)
        #expect(wrongSeed.status == 1)
        #expect(daemon.knob("mtcopy/folios_migrated") == "4")
        let stat = try daemon.runFolioctl(["stat"])
        #expect(stat.output.contains("migrator: mtcopy\n") && stat.output.contains("folios_migrated: 4\n"))
        #expect(try daemon.runFolioctl(["--space", "demo", "destroy"]).status == 0)
        #expect(daemon.knob("tiers/slow/free_bytes") == String(64 << 20))
    }
}
