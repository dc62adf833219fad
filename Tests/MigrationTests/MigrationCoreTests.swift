import FolioMemory
import Synchronization
import Sysfs
import SystemPackage
import TestSupport
import Testing
@testable import Migration

/// The knobs of DESIGN.md §2 that the migration core backs, driven through the same `write` path
/// a FUSE write takes.
struct MigrationCoreTests {
    let core = MigrationCore()
    let tree = SysfsTree()

    init() { core.registerKnobs(in: tree) }

    func write(_ path: String, _ value: String) throws(Errno) {
        _ = try tree.attribute(path).write(value)
    }

    func read(_ path: String) throws -> String {
        String(decoding: try tree.attribute(path).show(), as: UTF8.self)
    }

    @Test func tree_hasEveryKnobOfDesignSection3() {
        let tree = SysfsTree()
        core.registerKnobs(in: tree)
        let stats = ["batches", "folios_migrated", "folios_failed", "folios_busy", "bytes_copied", "unmap_ns", "copy_ns", "move_ns", "fallbacks", "copy_faults",
                     "tx_committed", "tx_aborted", "tx_frozen_copies", "batch_latency_ns", "first_folio_ns"]
        #expect(tree.allAttributes().map(\.path) == [
            "migration/offload_migrator", "migration/reason_mask", "migration/transactional", "migration/batch_size", "migration/revoke_timeout_ms",
        ] + stats.map { "migration/stats/\($0)" } + [
            "mtcopy/offloading", "mtcopy/threads", "mtcopy/folios_migrated", "mtcopy/folios_failures",
            "dcbm/offloading", "dcbm/nr_dma_chan", "dcbm/engine", "dcbm/folios_migrated", "dcbm/folios_failures", "dcbm/timeouts",
            "debug/fail_dma/probability", "debug/fail_dma/times", "debug/fail_dma/stall",
            "module/dcbm/parameters/offloading", "module/dcbm/parameters/nr_dma_chan", "module/dcbm/parameters/reason_mask",
            "module/dcbm/parameters/folios_migrated", "module/dcbm/parameters/folios_failures",
        ])
    }

    @Test func offloading_startsAndStopsTheMigrator() throws {
        #expect(try read("migration/offload_migrator") == "[kernel] mtcopy dcbm\n")
        try write("dcbm/offloading", "1\n")
        #expect(try read("migration/offload_migrator") == "kernel mtcopy [dcbm]\n")
        #expect(try read("dcbm/offloading") == "1\n")
        try write("dcbm/offloading", "1")
        try write("mtcopy/offloading", "0")
        #expect(core.slot.active.name == "dcbm")
        try write("dcbm/offloading", "off")
        #expect(try read("migration/offload_migrator") == "[kernel] mtcopy dcbm\n")
    }

    @Test func offloading_whenAnotherMigratorIsActive_failsWithEBUSY() throws {
        try write("dcbm/offloading", "1")
        #expect(throws: Errno.resourceBusy) { try write("mtcopy/offloading", "1\n") }
        #expect(try read("mtcopy/offloading") == "0\n")
        #expect(core.slot.active.name == "dcbm")
    }

    @Test(arguments: ["garbage\n", "", "2", " 1", "-1"])
    func offloading_withAValueKstrtoboolRejects_failsWithEINVALAndChangesNothing(value: String) throws {
        let before = try read("migration/offload_migrator")
        if value.isEmpty {
            try write("dcbm/offloading", value)
        } else {
            #expect(throws: Errno.invalidArgument) { try write("dcbm/offloading", value) }
        }
        #expect(try read("migration/offload_migrator") == before)
    }

    @Test func offloadMigrator_switchesInOneStepAndRejectsUnknownNames() throws {
        try write("migration/offload_migrator", "mtcopy\n")
        try write("migration/offload_migrator", "dcbm")
        #expect(try read("migration/offload_migrator") == "kernel mtcopy [dcbm]\n")
        #expect(throws: Errno.invalidArgument) { try write("migration/offload_migrator", "dma\n") }
        #expect(throws: Errno.invalidArgument) { try write("migration/offload_migrator", "dcbm\n\n") }
        try write("migration/offload_migrator", "kernel")
        #expect(core.slot.active.name == "kernel")
    }

    @Test func aSwap_notifiesEveryAttributeWhoseValueItChanges() throws {
        let notified = Mutex<[String]>([])
        for (path, attribute) in tree.allAttributes() {
            attribute.observe { _ in notified.withLock { $0.append(path) } }
        }
        try write("migration/offload_migrator", "dcbm")
        // kernel → dcbm: mtcopy/offloading showed 0 and still does, so its pollers sleep on;
        // dcbm's knob wakes its pollers under both of its names.
        #expect(Set(notified.withLock { $0 }) == ["migration/offload_migrator", "dcbm/offloading", "module/dcbm/parameters/offloading"])
        notified.withLock { $0 = [] }
        try write("migration/offload_migrator", "mtcopy")
        #expect(Set(notified.withLock { $0 }) == ["migration/offload_migrator", "mtcopy/offloading", "dcbm/offloading", "module/dcbm/parameters/offloading"])
    }

    @Test(arguments: [
        ("dcbm/nr_dma_chan", "17"), ("dcbm/nr_dma_chan", "0"), ("dcbm/nr_dma_chan", "abc"), ("mtcopy/threads", "0"),
        ("mtcopy/threads", "65"), ("mtcopy/threads", "4 "), ("debug/fail_dma/probability", "101"), ("debug/fail_dma/times", "-2"),
    ])
    func rangeKnobs_rejectValuesOutsideTheirRangeWithEINVAL(path: String, value: String) throws {
        let before = try read(path)
        #expect(throws: Errno.invalidArgument) { try write(path, value) }
        #expect(try read(path) == before)
    }

    @Test func rangeKnobs_takeBase0Numbers() throws {
        try write("dcbm/nr_dma_chan", "0x10\n")
        #expect(try read("dcbm/nr_dma_chan") == "16\n")
        try write("mtcopy/threads", "010")
        #expect(try read("mtcopy/threads") == "8\n")
        try write("debug/fail_dma/times", "-1")
        #expect(try read("debug/fail_dma/times") == "-1\n")
        #expect(throws: Errno.outOfRange) { try write("mtcopy/threads", "99999999999") }
    }

    @Test func counters_countMigratedFoliosAndResetOnAnyWrite() throws {
        try write("mtcopy/offloading", "1")
        let buffers = FolioBuffers(count: 5, length: 4096)
        _ = buffers.withBatch { core.slot.copy($0) }
        #expect(try read("mtcopy/folios_migrated") == "5\n")
        try write("mtcopy/folios_migrated", "whatever")
        #expect(try read("mtcopy/folios_migrated") == "0\n")
    }

    @Test func engine_isReadOnlyAndNamesTheSoftwareEngine() throws {
        #expect(try read("dcbm/engine") == "software\n")
        #expect(try !tree.attribute("dcbm/engine").isWritable)
    }

    /// The real drivers under switching: data stays intact while the migrator changes
    /// between batches and dcbm drops descriptors.
    @Test func realDrivers_underSwitchingAndFaults_deliverEveryByte() throws {
        try write("debug/fail_dma/probability", "10")
        try write("debug/fail_dma/times", "-1")
        try write("dcbm/nr_dma_chan", "3")
        try write("mtcopy/threads", "3")
        let done = Atomic<Bool>(false)
        let damaged = Atomic<Int>(0)
        let core = core
        onThreads(3) { thread in
            if thread == 2 {
                for round in 0..<300 { try? core.slot.switchTo(core.slot.names[round % 3]) }
                done.store(true, ordering: .releasing)
                return
            }
            let buffers = FolioBuffers(lengths: [4096, 65536, 2 << 20, 12288], seed: UInt64(thread + 10))
            while !done.load(ordering: .acquiring) {
                buffers.clearDestinations()
                _ = buffers.withBatch { core.slot.copy($0) }
                if !buffers.damagedFolios().isEmpty { damaged.add(1, ordering: .relaxed) }
            }
        }
        #expect(damaged.load(ordering: .relaxed) == 0)
    }
}
