import SystemPackage
import Testing
@testable import Sysfs

struct KnobApplierTests {
    @Test func apply_storesEachLineInOrder() throws {
        let knob = RecordingKnob()
        let tree = SysfsTree()
        tree.directory("a").add(knob.attribute)
        try KnobApplier.apply([KnobSetting(path: "a/value", value: "3", line: 4), KnobSetting(path: "a/value", value: "5", line: 5)], to: tree)
        #expect(knob.stored == ["3", "5"])
    }

    @Test(arguments: [
        ("a/value", "garbage", Errno.invalidArgument), ("a/missing", "1", .noSuchFileOrDirectory),
        ("a/engine", "1", .permissionDenied), ("a", "1", .isDirectory),
    ] as [(String, String, Errno)])
    func apply_failsWithTheErrnoAShellWouldSee(path: String, value: String, expected: Errno) {
        let tree = SysfsTree()
        tree.directory("a").add(RecordingKnob().attribute, .readOnly("engine") { "software\n" })
        let setting = KnobSetting(path: path, value: value, line: 12)
        #expect(throws: KnobError(setting: setting, errno: expected)) { try KnobApplier.apply([setting], to: tree) }
    }

    @Test func knobError_namesThePathTheValueAndTheErrno() {
        let error = KnobError(setting: KnobSetting(path: "dcbm/offloading", value: "x", line: 7), errno: .invalidArgument)
        #expect(error.description == "dcbm/offloading = \"x\": Invalid argument (EINVAL)")
    }

    @Test func errnoNames_areTheSymbolicOnes() {
        #expect(Errno.resourceBusy.name == "EBUSY")
        #expect(Errno.noSuchFileOrDirectory.name == "ENOENT")
        #expect(Errno.diskQuotaExceeded.name == "EDQUOT")
        #expect(Errno(rawValue: 4095).name == "E4095")
    }
}
