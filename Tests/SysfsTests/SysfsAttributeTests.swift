import Synchronization
import SystemPackage
import Testing
@testable import Sysfs

/// A knob that records every value its `store` receives.
final class RecordingKnob: Sendable {
    private final class State: Sendable {
        let stored = Mutex<[String]>([])
        let value = Mutex("0")
    }

    private let state = State()
    let attribute: SysfsAttribute

    /// Every value `store` received, in order.
    var stored: [String] { state.stored.withLock { $0 } }
    /// The value `show` reports, without its newline.
    var value: String { state.value.withLock { $0 } }

    init() {
        let state = state
        attribute = SysfsAttribute("value", mode: .knob, show: { state.value.withLock { $0 } + "\n" }) { (input) throws(Errno) in
            state.stored.withLock { $0.append(input) }
            let number = try kstrtouint(input)
            state.value.withLock { $0 = String(number) }
        }
    }
}

struct SysfsAttributeTests {
    @Test func write_passesTheValueToStoreAndReturnsTheByteCount() throws {
        let knob = RecordingKnob()
        #expect(try knob.attribute.write("42\n") == 3)
        #expect(knob.stored == ["42\n"])
        #expect(knob.attribute.show() == Array("42\n".utf8))
    }

    @Test func write_ofZeroBytes_storesNothing() throws {
        let knob = RecordingKnob()
        #expect(try knob.attribute.write("") == 0)
        #expect(knob.stored.isEmpty)
    }

    @Test func write_longerThanAPage_storesOnlyTheFirstPage() throws {
        let knob = RecordingKnob()
        let long = String(repeating: "1", count: 5000)
        #expect(throws: Errno.outOfRange) { try knob.attribute.write(long) }
        #expect(knob.stored.map(\.count) == [SysfsAttribute.pageSize])
    }

    @Test func write_endsTheValueAtTheFirstNUL() throws {
        let knob = RecordingKnob()
        #expect(try knob.attribute.write("7\0garbage") == 9)
        #expect(knob.stored == ["7"])
        #expect(knob.value == "7")
    }

    @Test func write_thatStoreRejects_changesNothingAndNotifiesNoOne() {
        let knob = RecordingKnob()
        let before = knob.attribute.event
        #expect(throws: Errno.invalidArgument) { try knob.attribute.write("garbage\n") }
        #expect(knob.value == "0")
        #expect(knob.attribute.event == before)
    }

    @Test func write_thatChangesTheValue_notifiesObservers() throws {
        let knob = RecordingKnob()
        let seen = Mutex(0)
        knob.attribute.observe { _ in seen.withLock { $0 += 1 } }
        _ = try knob.attribute.write("5")
        _ = try knob.attribute.write("5")
        #expect(seen.withLock { $0 } == 1)
    }

    @Test func readOnlyAttribute_isNotWritableAndWriteFailsWithEACCES() {
        let attribute = SysfsAttribute.readOnly("engine") { "software\n" }
        #expect(!attribute.isWritable)
        #expect(attribute.isReadable)
        #expect(throws: Errno.permissionDenied) { try attribute.write("x") }
    }

    @Test func attributeWithStoreButNoWriteBit_isNotWritable() {
        let attribute = SysfsAttribute("locked", mode: .readOnlyKnob, show: { "" }, store: { _ in })
        #expect(!attribute.isWritable)
    }

    @Test func show_isCutAtAPage() {
        let attribute = SysfsAttribute.readOnly("big") { String(repeating: "x", count: 10_000) }
        #expect(attribute.show().count == SysfsAttribute.pageSize)
    }

    @Test func counter_resetsOnAnyWrite() throws {
        let count = Mutex<UInt64>(9)
        let counter = SysfsAttribute.counter("n", value: { count.withLock { $0 } }, reset: { count.withLock { $0 = 0 } })
        #expect(counter.show() == Array("9\n".utf8))
        _ = try counter.write("garbage")
        #expect(counter.show() == Array("0\n".utf8))
    }

    @Test(arguments: [("0x10", true), ("16", true), ("17", false), ("0", false), ("-1", false)])
    func unsigned_acceptsBase0NumbersInItsRangeOnly(input: String, accepted: Bool) {
        let value = Mutex<UInt32>(1)
        let knob = SysfsAttribute.unsigned("n", range: 1...16, get: { value.withLock { $0 } }, set: { new in value.withLock { $0 = new } })
        if accepted {
            #expect(throws: Never.self) { try knob.write(input) }
        } else {
            #expect(throws: Errno.invalidArgument) { try knob.write(input) }
            #expect(value.withLock { $0 } == 1)
        }
    }
}
