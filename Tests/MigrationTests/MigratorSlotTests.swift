import Foundation
import Synchronization
import SystemPackage
import TestSupport
import Testing
@testable import Migration

struct MigratorSlotTests {
    let kernel = KernelCopyDriver()
    let a = TrackingMigrator("a")
    let b = TrackingMigrator("b")

    func makeSlot() -> MigratorSlot { MigratorSlot(fallback: kernel, offload: [a, b]) }

    @Test func startOffloading_bindsTheMigratorAndActivatesIt() throws {
        let slot = makeSlot()
        try slot.startOffloading("a")
        #expect(slot.active.name == "a")
        #expect(a.isActive.load(ordering: .relaxed) == true)
    }

    @Test func startOffloading_whenAnotherMigratorIsActive_failsWithEBUSY() throws {
        let slot = makeSlot()
        try slot.startOffloading("a")
        #expect(throws: Errno.resourceBusy) { try slot.startOffloading("b") }
        #expect(slot.active.name == "a")
        #expect(b.isActive.load(ordering: .relaxed) == false)
    }

    @Test func startOffloading_ofTheActiveMigrator_isANoOp() throws {
        let slot = makeSlot()
        let swaps = Atomic<Int>(0)
        slot.onSwap { _, _ in swaps.add(1, ordering: .relaxed) }
        try slot.startOffloading("a")
        try slot.startOffloading("a")
        #expect(swaps.load(ordering: .relaxed) == 1)
        #expect(a.activations.load(ordering: .relaxed) == 1)
    }

    @Test func stopOffloading_ofAMigratorThatIsNotActive_isANoOp() throws {
        let slot = makeSlot()
        try slot.startOffloading("a")
        try slot.stopOffloading("b")
        #expect(slot.active.name == "a")
        try slot.stopOffloading("a")
        #expect(slot.active.name == "kernel")
        #expect(a.isActive.load(ordering: .relaxed) == false)
    }

    @Test func unknownName_failsWithEINVAL() {
        let slot = makeSlot()
        #expect(throws: Errno.invalidArgument) { try slot.startOffloading("dma") }
        #expect(throws: Errno.invalidArgument) { try slot.switchTo("") }
    }

    @Test func switch_whenActivationFails_leavesTheSlotAsItWas() throws {
        let broken = TrackingMigrator("broken", activationError: .noMemory)
        let slot = MigratorSlot(fallback: kernel, offload: [a, broken])
        try slot.switchTo("a")
        #expect(throws: Errno.noMemory) { try slot.switchTo("broken") }
        #expect(slot.active.name == "a")
        #expect(a.isActive.load(ordering: .relaxed) == true)
    }

    @Test func copy_fallsBackForFailedFoliosAndCountsThemAsTheMigratorsFailures() throws {
        let flaky = TrackingMigrator("flaky", failEvery: 3)
        let slot = MigratorSlot(fallback: kernel, offload: [flaky])
        try slot.startOffloading("flaky")
        let buffers = FolioBuffers(count: 9, length: 4096)
        let report = buffers.withBatch { slot.copy($0) }
        #expect(report == .init(migrator: "flaky", copied: 6, fellBack: 3))
        #expect(flaky.stats.foliosFailures == 3)
        #expect(flaky.stats.foliosMigrated == 6)
        #expect(buffers.damagedFolios().isEmpty)
    }

    @Test func copy_withOffloadOff_usesTheDefaultWhateverIsActive() throws {
        let slot = makeSlot()
        try slot.startOffloading("a")
        let buffers = FolioBuffers(count: 2, length: 4096)
        #expect(buffers.withBatch { slot.copy($0, offload: false) }.migrator == "kernel")
    }

    /// Four threads copy checksummed batches without pause while a fifth switches migrators
    /// thousands of times: every byte arrives, no batch runs on a migrator that is not active,
    /// and no swap returns while its old migrator still copies.
    @Test func slot_underConstantSwitching_keepsEveryPromise() throws {
        let flakyA = TrackingMigrator("a", failEvery: 5)
        let flakyB = TrackingMigrator("b", failEvery: 7)
        let c = TrackingMigrator("c")
        let slot = MigratorSlot(fallback: kernel, offload: [flakyA, flakyB, c])
        let tracked = [flakyA, flakyB, c]
        let switches = 2000
        let done = Atomic<Bool>(false)
        let batches = Atomic<Int>(0)
        let damaged = Atomic<Int>(0)
        let lateSwaps = Atomic<Int>(0)
        onThreads(5) { thread in
            if thread == 4 {
                var generator = SplitMix64(seed: 42)
                // Switch only once the copiers run, and keep on until they have run a while.
                while batches.load(ordering: .relaxed) < 4 { sched_yield() }
                var switched = 0
                while switched < switches || batches.load(ordering: .relaxed) < 400 {
                    switched += 1
                    let old = slot.active.name
                    let next = slot.names.randomElement(using: &generator)!
                    try? slot.switchTo(next)
                    if next != old, let previous = tracked.first(where: { $0.name == old }),
                       previous.inFlight.load(ordering: .sequentiallyConsistent) != 0 || previous.isActive.load(ordering: .sequentiallyConsistent) {
                        lateSwaps.add(1, ordering: .relaxed)
                    }
                }
                done.store(true, ordering: .releasing)
                return
            }
            let buffers = FolioBuffers(lengths: (0..<16).map { 16384 << ($0 % 3) }, seed: UInt64(thread))
            while !done.load(ordering: .acquiring) {
                buffers.clearDestinations()
                _ = buffers.withBatch { slot.copy($0) }
                if !buffers.damagedFolios().isEmpty { damaged.add(1, ordering: .relaxed) }
                batches.add(1, ordering: .relaxed)
            }
        }
        #expect(damaged.load(ordering: .relaxed) == 0)
        #expect(lateSwaps.load(ordering: .relaxed) == 0)
        #expect(tracked.allSatisfy { $0.violations.load(ordering: .relaxed) == 0 })
        #expect(batches.load(ordering: .relaxed) > 0)
        #expect(tracked.allSatisfy { $0.activations.load(ordering: .relaxed) > 100 })
    }

    /// Switching between two offload migrators never lets a batch run on the default copier.
    @Test func switchTo_betweenOffloadMigrators_neverPassesThroughTheDefault() throws {
        let slot = makeSlot()
        try slot.switchTo("a")
        let done = Atomic<Bool>(false)
        let copying = Atomic<Int>(0)
        onThreads(3) { thread in
            if thread == 2 {
                // Switch only while both copiers copy: on a loaded machine the switches could
                // otherwise all be over before either copier ran (bounded: 10 s).
                for _ in 0..<10_000 where copying.load(ordering: .acquiring) < 2 { usleep(1000) }
                for round in 0..<1000 { try? slot.switchTo(round % 2 == 0 ? "b" : "a") }
                done.store(true, ordering: .releasing)
                return
            }
            let buffers = FolioBuffers(count: 4, length: 4096, seed: UInt64(thread))
            _ = buffers.withBatch { slot.copy($0) }
            copying.add(1, ordering: .releasing)
            while !done.load(ordering: .acquiring) { _ = buffers.withBatch { slot.copy($0) } }
        }
        #expect(kernel.stats.foliosMigrated == 0)
        #expect(a.stats.foliosMigrated + b.stats.foliosMigrated > 0)
    }
}
