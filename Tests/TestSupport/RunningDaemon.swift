import FolioClient
import Foundation
import Testing

/// A real foliod in its own process, with its own directory, mount, socket and two tiers
/// (`fast`, `slow`), for the tests that drive the daemon from this process, from `folioctl`
/// and from `foliobench`.
public final class RunningDaemon: @unchecked Sendable {
    /// Thrown (after recording why) where the daemon cannot run: no root, no /dev/fuse, no build.
    public struct Unavailable: Error {}

    /// The binaries `make test` built (`FOLIOD`, `FOLIOCTL`, `FOLIOBENCH`), or the debug build's.
    public static let foliod = ProcessInfo.processInfo.environment["FOLIOD"] ?? ".build/debug/foliod"
    public static let folioctl = ProcessInfo.processInfo.environment["FOLIOCTL"] ?? ".build/debug/folioctl"
    public static let foliobench = ProcessInfo.processInfo.environment["FOLIOBENCH"] ?? ".build/debug/foliobench"

    /// Under `$FOLIOD_TEST_ROOT` when the suite runner sets it (so it can sweep what a crashed
    /// suite left), else under /tmp.
    public let directory = (ProcessInfo.processInfo.environment["FOLIOD_TEST_ROOT"] ?? "/tmp") + "/foliod-test-\(UUID().uuidString.prefix(8))"
    public var mountpoint: String { directory + "/mnt" }
    public var socket: String { directory + "/foliod.sock" }
    /// Where the daemon's standard error goes.
    public var logPath: String { directory + "/foliod.log" }
    /// What the daemon logged so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    public let process = Process()

    /// Starts the daemon; with `waitForStart` (the default) returns once the tree and the
    /// socket answer. `extraConfig` is appended to the config file; `fileLimit` runs it under
    /// that `RLIMIT_NOFILE` (soft and hard, as `ulimit -n` sets it).
    public init(tierBytes: Int = 64 << 20, environment: [String: String] = [:], extraConfig: String = "", fileLimit: Int? = nil, waitForStart: Bool = true) throws {
        guard getuid() == 0, FileManager.default.fileExists(atPath: "/dev/fuse") else {
            Issue.record("daemon tests need root and /dev/fuse")
            throw Unavailable()
        }
        guard FileManager.default.isExecutableFile(atPath: Self.foliod), FileManager.default.isExecutableFile(atPath: Self.folioctl) else {
            Issue.record("build foliod and folioctl first (swift build), or set FOLIOD and FOLIOCTL")
            throw Unavailable()
        }
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let config = """
            [daemon]
            mount = "\(mountpoint)"
            socket = "\(socket)"
            log_level = "warning"

            [[tiers]]
            name = "fast"
            size = \(tierBytes)

            [[tiers]]
            name = "slow"
            size = \(tierBytes)

            \(extraConfig)
            """
        _ = FileManager.default.createFile(atPath: directory + "/foliod.toml", contents: Data(config.utf8))
        let command = [Self.foliod, "--config", directory + "/foliod.toml"]
        // prlimit sets the limit on itself and execs foliod: the pid stays the daemon's.
        let launcher = fileLimit.map { ["/usr/bin/prlimit", "--nofile=\($0):\($0)"] } ?? []
        process.executableURL = URL(fileURLWithPath: (launcher + command)[0])
        process.arguments = Array((launcher + command).dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        if waitForStart && !waitUntilServing() {
            Issue.record("foliod did not come up")
            throw Unavailable()
        }
    }

    deinit {
        // Bounded: a daemon that ignores SIGTERM (a deadlock under test) is killed, not awaited.
        if process.isRunning && terminate(within: 10) == nil {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // A killed daemon leaves its mount behind, as any FUSE server does.
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
    public var mountAnswers: Bool { (try? String(contentsOfFile: mountpoint + "/migration/offload_migrator", encoding: .utf8)) != nil }

    /// Whether the mount point is still in the mount table.
    public var isMounted: Bool {
        ((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? "").contains(" \(mountpoint) ")
    }

    /// Waits (at most 5 s) until the tree and the socket answer.
    public func waitUntilServing() -> Bool {
        for _ in 0..<200 {
            if mountAnswers, (try? FolioClient(socketPath: socket)) != nil { return true }
            usleep(25_000)
        }
        return false
    }

    /// SIGTERM, then the exit status (nil if it did not exit within `seconds`).
    public func terminate(within seconds: Double = 10) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// A knob's value without its newline ("" if it cannot be read).
    public func knob(_ path: String) -> String {
        ((try? String(contentsOfFile: mountpoint + "/" + path, encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }

    /// Writes a knob as `echo` does; throws what the write failed with.
    public func setKnob(_ path: String, _ value: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: mountpoint + "/" + path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data((value + "\n").utf8))
    }

    /// The daemon's threads, open fds and resident bytes, from /proc.
    public var footprint: (threads: Int, fds: Int, residentBytes: Int) {
        let pid = process.processIdentifier
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") ?? -1
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        return (field("Threads"), fds, field("VmRSS") << 10)
    }

    /// A new client of this daemon.
    public func client(space: String? = nil) throws -> FolioClient {
        try FolioClient(socketPath: socket, space: space)
    }

    /// Starts `folioctl ARGUMENTS` against this daemon (as `nobody` if asked).
    public func folioctl(_ arguments: [String], asNobody: Bool = false) throws -> Process {
        try start(Self.folioctl, arguments, asNobody: asNobody)
    }

    /// Starts `foliobench ARGUMENTS` (a load tool: exercise, soak, bench, gups) against this daemon.
    public func foliobench(_ arguments: [String], asNobody: Bool = false) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: Self.foliobench) else {
            Issue.record("build foliobench first (swift build), or set FOLIOBENCH")
            throw Unavailable()
        }
        return try start(Self.foliobench, arguments, asNobody: asNobody)
    }

    /// Starts `binary --socket SOCKET ARGUMENTS`, its output and errors on pipes.
    private func start(_ binary: String, _ arguments: [String], asNobody: Bool) throws -> Process {
        let process = Process()
        let command = [binary, "--socket", socket] + arguments
        if asNobody {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"] + command
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = Array(command.dropFirst())
        }
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        return process
    }

    /// Runs `folioctl ARGUMENTS` to the end, or kills it after `seconds`: its status, standard
    /// output and standard error.
    public func runFolioctl(_ arguments: [String], asNobody: Bool = false, seconds: Double = 120) throws -> (status: Int32, output: String, errors: String) {
        let process = try folioctl(arguments, asNobody: asNobody)
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { if process.isRunning { kill(pid, SIGKILL) } }
        let output = (process.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        let errors = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}
