import Foundation
import Testing

/// A foliod started from its binary with a config of two small tiers, for the tests of what the
/// daemon itself does: systemd notification and shutdown.
final class DaemonProcess: @unchecked Sendable {
    struct Unavailable: Error {}

    static let binary = ProcessInfo.processInfo.environment["FOLIOD"] ?? ".build/debug/foliod"

    let directory = "/tmp/foliod-daemon-\(UUID().uuidString.prefix(8))"
    var mountpoint: String { directory + "/mnt" }
    var socket: String { directory + "/foliod.sock" }
    let process = Process()

    init(environment: [String: String] = [:], tierBytes: Int = 512 << 20, extraConfig: String = "") throws {
        guard getuid() == 0, FileManager.default.fileExists(atPath: "/dev/fuse") else {
            Issue.record("daemon tests need root and /dev/fuse")
            throw Unavailable()
        }
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("build foliod first (swift build), or set FOLIOD")
            throw Unavailable()
        }
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        let config = """
            [daemon]
            mount = "\(mountpoint)"
            socket = "\(socket)"

            [[tiers]]
            name = "fast"
            size = \(tierBytes)

            [[tiers]]
            name = "slow"
            size = \(tierBytes)

            \(extraConfig)
            """
        FileManager.default.createFile(atPath: directory + "/foliod.toml", contents: Data(config.utf8))
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--config", directory + "/foliod.toml"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        // A killed daemon leaves its mount behind (as the kernel does for any FUSE server).
        if isMounted {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = ["-l", mountpoint]
            try? umount.run()
            umount.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether the knob tree answers a read now.
    var mountAnswers: Bool {
        (try? String(contentsOfFile: mountpoint + "/migration/offload_migrator", encoding: .utf8)) != nil
    }

    /// A knob's value without its newline ("" if unreadable).
    func knob(_ path: String) -> String {
        ((try? String(contentsOfFile: mountpoint + "/" + path, encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }

    /// Writes a knob as `echo` does; throws what the write failed with.
    func setKnob(_ path: String, _ value: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: mountpoint + "/" + path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data((value + "\n").utf8))
    }

    /// Whether the mount point is still in the mount table.
    var isMounted: Bool {
        ((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? "").contains(" \(mountpoint) ")
    }

    /// Waits until the tree answers (at most 5 s).
    func waitUntilServing() -> Bool {
        for _ in 0..<200 where !mountAnswers { usleep(25_000) }
        return mountAnswers && FileManager.default.fileExists(atPath: socket)
    }

    /// SIGTERM, then the exit status (nil if it did not exit within `seconds`).
    func terminate(within seconds: Double = 10) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}
