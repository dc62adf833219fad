import Foundation
import Synchronization
import Sysfs
import SystemPackage
import Testing
@testable import SysfsFUSE

/// A small knob tree mounted for real under /tmp, and a shell to drive it.
///
/// `value` (0644, kstrtouint), `sub/flag` (0644, kstrtobool), `engine` (0444, show only),
/// `locked` (0444 with a store), `big` (0444, a show longer than a page).
final class MountedTestTree: @unchecked Sendable {
    let tree = SysfsTree()
    let root: String
    let mountpoint: String
    let mount: KnobMount

    /// Fails the calling test, with the reason, where mounting cannot work.
    static func requireMountable() throws {
        guard getuid() == 0 else {
            Issue.record("FUSE mount tests need root (they check modes as root and as nobody)")
            throw Skip()
        }
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else {
            Issue.record("FUSE mount tests need /dev/fuse")
            throw Skip()
        }
    }

    struct Skip: Error {}

    init() throws {
        try Self.requireMountable()
        root = (ProcessInfo.processInfo.environment["FOLIOD_TEST_ROOT"] ?? "/tmp") + "/foliod-fuse-test-\(UUID().uuidString)"
        mountpoint = root + "/mnt"
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        let (stored, value, flag) = (self.storedBox, self.valueBox, self.flagBox)
        tree.root.add(
            SysfsAttribute("value", mode: .knob, show: { "\(value.get())\n" }) { (input) throws(Errno) in
                stored.append(input)
                value.set(try kstrtouint(input))
            },
            .readOnly("engine") { "software\n" },
            SysfsAttribute("locked", mode: .readOnlyKnob, show: { "0\n" }, store: { _ in }),
            .readOnly("big") { String(repeating: "x", count: 6000) }
        )
        tree.directory("sub").add(SysfsAttribute("flag", mode: .knob, show: { flag.get() ? "1\n" : "0\n" }) { (input) throws(Errno) in
            flag.set(try kstrtobool(input))
        })
        mount = try KnobMount(tree: tree, at: mountpoint)
    }

    // Sendable boxes the closures capture (a Mutex cannot be captured).
    private let storedBox = Box<[String]>([])
    private let valueBox = Box<UInt32>(0)
    private let flagBox = Box(false)

    /// Every value `value`'s store received, in order.
    var storedValues: [String] { storedBox.get() }
    var currentValue: UInt32 { valueBox.get() }

    deinit {
        mount.unmount()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Runs `script` with bash (or `shell`) in the mount, as root or as `nobody`.
    func run(_ script: String, shell: String = "/bin/bash", asNobody: Bool = false) throws -> ShellResult {
        let process = Process()
        if asNobody {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", shell, "-c", script]
        } else {
            process.executableURL = URL(fileURLWithPath: shell)
            process.arguments = ["-c", script]
        }
        process.currentDirectoryURL = URL(fileURLWithPath: mountpoint)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ShellResult(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self), stderr: String(decoding: errors, as: UTF8.self))
    }
}

/// What a shell command printed and returned.
struct ShellResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A locked value that closures can capture.
final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    func get() -> Value { storage.withLock { $0 } }
    func set(_ value: Value) { storage.withLock { $0 = value } }
}

extension Box where Value == [String] {
    func append(_ element: String) { storage.withLock { $0.append(element) } }
}
