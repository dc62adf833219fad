import FolioSharedMemory
import Foundation
import Synchronization
import TestSupport
import Testing
@testable import FolioMemory

struct PinProtocolTests {
    /// A one-entry table in ordinary memory (the protocol only needs the words).
    final class Table: @unchecked Sendable {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: FolioTableLayout.entrySize, alignment: 64)
        /// One client's pin table.
        let pins = PinTable.local()
        init() { memory.initializeMemory(as: UInt8.self, repeating: 0, count: FolioTableLayout.entrySize) }
        deinit { memory.deallocate() }
        var entry: FolioEntry { FolioEntry(table: memory, handle: 0) }
        func pin() { PinProtocol.pin(entry, in: pins) }
        func unpin() { PinProtocol.unpin(entry, in: pins) }
        func freeze() -> Bool { PinProtocol.freeze(entry, pinnedBy: [pins]) }
    }

    @Test func freeze_ofAnUnpinnedFolio_makesSeqOddUntilThaw() {
        let table = Table()
        #expect(table.freeze())
        #expect(table.entry.seq.load(ordering: .relaxed) == 1)
        PinProtocol.thaw(table.entry)
        #expect(table.entry.seq.load(ordering: .relaxed) == 2)
    }

    @Test func freeze_ofAPinnedFolio_failsAndRestoresSeq() {
        let table = Table()
        table.pin()
        #expect(!table.freeze())
        #expect(table.entry.seq.load(ordering: .relaxed) == 0)
        table.unpin()
        #expect(table.freeze())
    }

    @Test func pin_waitsWhileTheFolioIsFrozen() {
        let table = Table()
        #expect(table.freeze())
        let pinned = Atomic<Bool>(false)
        let thread = Thread {
            table.pin()
            pinned.store(true, ordering: .releasing)
        }
        thread.start()
        usleep(50_000)
        #expect(pinned.load(ordering: .acquiring) == false)
        PinProtocol.thaw(table.entry)
        for _ in 0..<200 where !pinned.load(ordering: .acquiring) { usleep(5_000) }
        #expect(pinned.load(ordering: .acquiring) == true)
        #expect(table.pins.counter(0).load(ordering: .relaxed) == 1)
    }

    /// Pinners and a freezer race: no access happens inside a freeze, seen from either side.
    /// (The raw pin count may blip while a pinner backs out, so accesses are counted apart.)
    @Test func pinAndFreeze_underContention_neverOverlap() {
        let table = Table()
        let overlaps = Atomic<Int>(0)
        let frozen = Atomic<Bool>(false)
        let accessing = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let freezes = Atomic<Int>(0)
        onThreads(3) { thread in
            guard thread == 0 else {
                while !done.load(ordering: .acquiring) {
                    table.pin()
                    accessing.add(1, ordering: .sequentiallyConsistent)
                    if frozen.load(ordering: .sequentiallyConsistent) { overlaps.add(1, ordering: .relaxed) }
                    accessing.subtract(1, ordering: .sequentiallyConsistent)
                    table.unpin()
                }
                return
            }
            for _ in 0..<200_000 where table.freeze() {
                frozen.store(true, ordering: .sequentiallyConsistent)
                // Stay frozen a little, so a pinner that slipped in would be seen.
                for _ in 0..<50 where accessing.load(ordering: .relaxed) == 0 {}
                if accessing.load(ordering: .sequentiallyConsistent) != 0 { overlaps.add(1, ordering: .relaxed) }
                frozen.store(false, ordering: .sequentiallyConsistent)
                PinProtocol.thaw(table.entry)
                freezes.add(1, ordering: .relaxed)
            }
            done.store(true, ordering: .releasing)
        }
        #expect(overlaps.load(ordering: .relaxed) == 0)
        #expect(freezes.load(ordering: .relaxed) > 0)
    }

    @Test func freeze_seesAPinInAnyOfTheTables() {
        let table = Table()
        let other = PinTable.local()
        PinProtocol.pin(table.entry, in: other)
        #expect(!PinProtocol.freeze(table.entry, pinnedBy: [table.pins, other]))
        #expect(PinProtocol.freeze(table.entry, pinnedBy: [table.pins]))
    }

    @Test func pin_ofAFolioFrozenForGood_givesUpWhenTheDaemonIsGone() {
        let table = Table()
        #expect(table.freeze())
        var asked = 0
        let pinned = PinProtocol.pin(table.entry, in: table.pins) {
            asked += 1
            return asked < 3
        }
        #expect(pinned == .daemonGone)
        #expect(asked == 3)
        #expect(table.pins.counter(0).load(ordering: .relaxed) == 0)
    }

    @Test func readAndWritePins_countInTheirOwnHalves_andOnlyWritesMark() {
        let table = Table()
        #expect(PinProtocol.pin(table.entry, in: table.pins, for: .read) == .pinned)
        #expect(table.pins.counter(0).load(ordering: .relaxed) == PinTable.readPin)
        #expect(table.entry.writes.load(ordering: .relaxed) == 0)
        #expect(PinProtocol.writeMark(table.entry, pinnedBy: [table.pins]) == 0)
        #expect(!table.freeze())
        table.pin()
        #expect(table.entry.writes.load(ordering: .relaxed) == 1)
        #expect(PinProtocol.writeMark(table.entry, pinnedBy: [table.pins]) == nil)
        table.unpin()
        PinProtocol.unpin(table.entry, in: table.pins, for: .read)
        #expect(table.pins.counter(0).load(ordering: .relaxed) == 0)
        #expect(PinProtocol.writeMark(table.entry, pinnedBy: [table.pins]) == 1)
        #expect(table.entry.accesses.load(ordering: .relaxed) == 2)
    }

    /// An older client adds 1 per pin: every one of its pins is a write pin to the daemon.
    @Test func aPinCountedAsOne_isAWritePin() {
        let table = Table()
        table.pins.counter(0).wrappingIncrement(ordering: .relaxed)
        #expect(PinProtocol.writeMark(table.entry, pinnedBy: [table.pins]) == nil)
    }

    @Test(arguments: [PinAccess.read, .write])
    func aFullHalf_refusesTheNextPin_andLeavesTheOtherHalf(access: PinAccess) {
        let table = Table()
        let full: UInt32 = access == .read ? 0xFFFF_0000 : 0x0000_FFFF
        table.pins.counter(0).store(full, ordering: .relaxed)
        #expect(PinProtocol.pin(table.entry, in: table.pins, for: access) == .tooManyPins)
        #expect(table.pins.counter(0).load(ordering: .relaxed) == full)
        let other: PinAccess = access == .read ? .write : .read
        #expect(PinProtocol.pin(table.entry, in: table.pins, for: other) == .pinned)
    }

    /// A pin refused for a full half adds nothing, not even for an instant: 65,535 read pins
    /// held, another one tried over and over, and no freeze ever sees the word at 0.
    @Test func aRefusedPin_neverLetsAFreezeThrough() {
        let table = Table()
        table.pins.counter(0).store(0xFFFF_0000, ordering: .relaxed)
        let done = Atomic<Bool>(false)
        let frozen = Atomic<Int>(0)
        onThreads(2) { thread in
            if thread == 0 {
                while !done.load(ordering: .relaxed) { _ = PinProtocol.pin(table.entry, in: table.pins, for: .read) }
                return
            }
            for _ in 0..<2_000_000 where table.freeze() {
                frozen.add(1, ordering: .relaxed)
                PinProtocol.thaw(table.entry)
            }
            done.store(true, ordering: .relaxed)
        }
        #expect(frozen.load(ordering: .relaxed) == 0)
    }

    @Test func entries_sitOnTheirOwnCacheLines() {
        #expect(FolioTableLayout.entrySize == 64)
        #expect(FolioTableLayout.tableBytes == FolioTableLayout.capacity * 64)
    }
}
