import FolioClient
import Foundation
import Testing

/// A real foliod in its own process, with its own mount, socket and two small tiers, for tests
/// that talk to it from this process and from `folioctl` processes.
final class RunningDaemon: @unchecked Sendable {
    struct Unavailable: Error {}

    let directory: String
    let mountpoint: String
    let socket: String
    let process = Process()

    /// The binaries `make test` built (`FOLIOD`, `FOLIOCTL`), or the debug build's.
    static let foliod = ProcessInfo.processInfo.environment["FOLIOD"] ?? ".build/debug/foliod"
    static let folioctl = ProcessInfo.processInfo.environment["FOLIOCTL"] ?? ".build/debug/folioctl"

    /// Starts a daemon with tiers `fast` and `slow` of `tierBytes` each; fails the test, with
    /// the reason, where root, /dev/fuse or the binaries are missing.
    init(tierBytes: Int = 64 << 20) throws {
        guard getuid() == 0, FileManager.default.fileExists(atPath: "/dev/fuse") else {
            Issue.record("daemon tests need root and /dev/fuse")
            throw Unavailable()
        }
        guard FileManager.default.isExecutableFile(atPath: Self.foliod), FileManager.default.isExecutableFile(atPath: Self.folioctl) else {
            Issue.record("build foliod and folioctl first (swift build), or set FOLIOD and FOLIOCTL")
            throw Unavailable()
        }
        directory = "/tmp/foliod-service-\(UUID().uuidString.prefix(8))"
        mountpoint = directory + "/mnt"
        socket = directory + "/foliod.sock"
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
            """
        FileManager.default.createFile(atPath: directory + "/foliod.toml", contents: Data(config.utf8))
        process.executableURL = URL(fileURLWithPath: Self.foliod)
        process.arguments = ["--config", directory + "/foliod.toml"]
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<200 {
            if (try? FolioClient(socketPath: socket)) != nil, knob("migration/offload_migrator") != nil { return }
            usleep(25_000)
        }
        Issue.record("foliod did not come up")
        throw Unavailable()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A knob's value without its newline, or nil if it cannot be read.
    func knob(_ path: String) -> String? {
        (try? String(contentsOfFile: mountpoint + "/" + path, encoding: .utf8)).map { $0.trimmingCharacters(in: .newlines) }
    }

    /// Writes a knob as `echo` would.
    func setKnob(_ path: String, _ value: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: mountpoint + "/" + path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data((value + "\n").utf8))
    }

    /// A new client of this daemon.
    func client(space: String? = nil) throws -> FolioClient {
        try FolioClient(socketPath: socket, space: space)
    }

    /// Starts `folioctl ARGUMENTS` against this daemon (as `nobody` if asked).
    func folioctl(_ arguments: [String], asNobody: Bool = false) throws -> Process {
        let process = Process()
        let command = [Self.folioctl, "--socket", socket] + arguments
        if asNobody {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"] + command
        } else {
            process.executableURL = URL(fileURLWithPath: Self.folioctl)
            process.arguments = Array(command.dropFirst())
        }
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        return process
    }

    /// Runs `folioctl ARGUMENTS` to the end; its status, standard output and standard error.
    func runFolioctl(_ arguments: [String], asNobody: Bool = false) throws -> (status: Int32, output: String, errors: String) {
        let process = try folioctl(arguments, asNobody: asNobody)
        let output = (process.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        let errors = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}

/// Random bytes for a folio, and a check of them.
func randomize(_ folio: UnsafeMutableRawBufferPointer, using generator: inout some RandomNumberGenerator) {
    let words = folio.bindMemory(to: UInt64.self)
    for index in words.indices { words[index] = generator.next() }
}
