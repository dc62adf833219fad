import FolioMemory
import FolioMetrics
import FolioService
import FolioSharedMemory
import FoundationEssentials
import Logging
import Sysfs
import SystemCalls
import SystemPackage
import TOMLKit

/// `Config/foliod.toml`, checked as a whole before anything is mounted.
public struct DaemonConfig: Sendable {
    /// A config error: the file, the line and what is wrong, as the daemon prints it.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Where the knob tree is mounted.
    public var mount = "mnt"
    /// Where the service listens.
    public var socket = "run/foliod.sock"
    /// The tiers, in order (at least one).
    public var tiers: [TierSpec] = []
    /// The group whose members may use the socket (besides root), if any.
    public var group: String?
    /// Sessions at once, and what each address space may hold.
    public var limits = ServiceLimits()
    /// The least severe log level printed.
    public var logLevel = Logger.Level.info
    /// How long dcbm waits for its DMA channels before it terminates them.
    public var dmaTimeout = Duration.seconds(2)
    /// `[knobs]`, in file order, applied through the knobs' `store`.
    public var knobs: [KnobSetting] = []
    /// What `huge_pages = "auto"` chose for each such tier, and why (logged at start).
    public var hugePageChoices: [String] = []
    /// What `node = "auto"`, or a config without `[[tiers]]`, chose for each tier, and why.
    public var nodeChoices: [String] = []
    /// `[metrics] listen`: where the Prometheus endpoint listens (off when nil).
    public var metricsListen: MetricsAddress?

    private static let sections: [String: Set<String>] = [
        "daemon": ["mount", "socket", "log_level", "group"],
        "limits": [
            "sessions", "sessions_per_uid", "named_spaces", "named_spaces_per_uid", "folios_per_space", "bytes_per_space",
            "bytes_per_uid", "attach_timeout_ms", "reply_timeout_ms",
        ],
        "tiers": [],
        "dcbm": ["timeout_ms"],
        "knobs": [],
        "metrics": ["listen"],
    ]

    /// The most bytes of config read: anything longer is not a config file.
    static let maxFileBytes = 1 << 20

    /// Reads and checks `path`.
    public static func load(_ path: String) throws(Problem) -> DaemonConfig {
        try parse(try read(path), path: path)
    }

    /// Checks the text of a config file; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws(Problem) -> DaemonConfig {
        let source = ConfigSource(path: path, text: text)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw Problem(description: "\(path):\(error.source.begin.line): \(error.description)")
        } catch {
            throw Problem(description: "\(path): \(error)")
        }
        return try DaemonConfig(table: table, source: source)
    }

    /// The file's text; the errno when it cannot be read. Only a regular file is read: a FIFO
    /// or a device could block the reader (the signal thread, on SIGHUP) for ever, so it is
    /// opened without waiting for a writer and refused.
    private static func read(_ path: String) throws(Problem) -> String {
        do {
            let fd = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec, .nonBlocking])
            defer { try? fd.close() }
            guard try Posix.kind(of: fd) == .regular else { throw Problem(description: "\(path): not a regular file") }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
                if count == 0 { break }
                bytes += chunk.prefix(count)
                guard bytes.count <= maxFileBytes else { throw Problem(description: "\(path): larger than \(maxFileBytes) bytes; not a config file") }
            }
            return String(decoding: bytes, as: UTF8.self)
        } catch let error as Errno {
            throw Problem(description: "\(path): \(error) (\(error.name))")
        } catch let error as Problem {
            throw error
        } catch let error as SystemCallError {
            throw Problem(description: "\(path): \(error.errno) (\(error.errno.name))")
        } catch {
            throw Problem(description: "\(path): \(error)")
        }
    }

    private init(table: TOMLTable, source: ConfigSource) throws(Problem) {
        func fail(_ key: String, in section: String, _ reason: String) -> Problem {
            let line = source.line(ofKey: key, inTable: section)
            return Problem(description: "\(source.path):\(line): [\(section)] \(key): \(reason)")
        }
        for section in table.keys {
            if table[section]?.table == nil && table[section]?.array == nil {
                let home = Self.sections.first { $0.value.contains(section) }.map { " (it belongs in [\($0.key)])" } ?? ""
                throw Problem(description: "\(source.path):\(source.line(ofKey: section, inTable: "")): \(section): a key outside any section\(home)")
            }
            guard let allowed = Self.sections[section] else {
                throw Problem(description: "\(source.path):\(source.line(ofTable: section)): unknown section [\(section)]")
            }
            // Only [[tiers]] is an array of tables: `[[limits]]` would be read by nothing.
            if section != "tiers", table[section]?.array != nil {
                throw Problem(description: "\(source.path):\(source.line(ofKey: section, inArrayTable: section, index: 0)): [[\(section)]]: expected one [\(section)] table")
            }
            guard let body = table[section]?.table else { continue }
            for key in body.keys where section != "knobs" && !allowed.contains(key) {
                throw fail(key, in: section, "unknown key")
            }
        }
        if let daemon = table["daemon"]?.table {
            if let value = daemon["mount"] {
                guard let mount = value.string, !mount.isEmpty else { throw fail("mount", in: "daemon", "expected a non-empty string") }
                self.mount = mount
            }
            if let value = daemon["socket"] {
                guard let socket = value.string, !socket.isEmpty else { throw fail("socket", in: "daemon", "expected a non-empty string") }
                self.socket = socket
            }
            if let value = daemon["log_level"] {
                guard let name = value.string, let level = Logger.Level(rawValue: name) else {
                    throw fail("log_level", in: "daemon", "expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                logLevel = level
            }
        }
        if let value = table["daemon"]?.table?["group"] {
            guard let group = value.string, !group.isEmpty else { throw fail("group", in: "daemon", "expected a group name") }
            self.group = group
        }
        if let limits = table["limits"]?.table {
            func count(_ key: String, _ range: ClosedRange<Int>) throws(Problem) -> Int? {
                guard let value = limits[key] else { return nil }
                guard let number = value.int, range.contains(number) else {
                    throw fail(key, in: "limits", "expected an integer from \(range.lowerBound) to \(range.upperBound)")
                }
                return number
            }
            func bytes(_ key: String) throws(Problem) -> Int? {
                guard let value = limits[key] else { return nil }
                guard let bytes = TierConfig.byteCount(value), bytes > 0 else { throw fail(key, in: "limits", "expected a positive size (\"4G\")") }
                return bytes
            }
            let many = 1...1_000_000
            self.limits.sessions = try count("sessions", many) ?? self.limits.sessions
            self.limits.sessionsPerUID = try count("sessions_per_uid", many) ?? self.limits.sessionsPerUID
            self.limits.namedSpaces = try count("named_spaces", 0...1_000_000) ?? self.limits.namedSpaces
            self.limits.namedSpacesPerUID = try count("named_spaces_per_uid", 0...1_000_000) ?? self.limits.namedSpacesPerUID
            self.limits.space.folios = try count("folios_per_space", 1...FolioTableLayout.capacity) ?? self.limits.space.folios
            self.limits.space.bytes = try bytes("bytes_per_space") ?? self.limits.space.bytes
            self.limits.bytesPerUID = try bytes("bytes_per_uid") ?? self.limits.bytesPerUID
            if let milliseconds = try count("attach_timeout_ms", 1...3_600_000) { self.limits.attachTimeout = .milliseconds(milliseconds) }
            if let milliseconds = try count("reply_timeout_ms", 1...3_600_000) { self.limits.replyTimeout = .milliseconds(milliseconds) }
        }
        if let value = table["dcbm"]?.table?["timeout_ms"] {
            guard let milliseconds = value.int, (1...600_000).contains(milliseconds) else {
                throw fail("timeout_ms", in: "dcbm", "expected an integer from 1 to 600000")
            }
            dmaTimeout = .milliseconds(milliseconds)
        }
        if let value = table["tiers"] {
            guard let array = value.array else { throw fail("tiers", in: "", "expected [[tiers]] tables") }
            tiers = try TierConfig.parse(array, source: source, choices: &hugePageChoices, nodeChoices: &nodeChoices)
        } else {
            tiers = TierConfig.fromMachine(choices: &hugePageChoices, nodeChoices: &nodeChoices)
        }
        metricsListen = try Self.metricsListen(in: table, source: source)
        if let knobs = table["knobs"]?.table {
            self.knobs = try knobs.keys.map { (key) throws(Problem) in
                guard let value = Self.knobValue(knobs[key]) else { throw fail(key, in: "knobs", "expected a string, an integer or a boolean") }
                return KnobSetting(path: key, value: value, line: source.line(ofKey: key, inTable: "knobs"))
            }.sorted { $0.line < $1.line }
        }
    }

    /// This config with the command line's overrides; at least one tier is needed.
    public func overridden(mount: String? = nil, socket: String? = nil, logLevel: String? = nil) throws(Problem) -> DaemonConfig {
        var config = self
        if let mount { config.mount = mount }
        if let socket { config.socket = socket }
        if let logLevel {
            guard let level = Logger.Level(rawValue: logLevel) else { throw Problem(description: "--log-level: unknown level '\(logLevel)'") }
            config.logLevel = level
        }
        guard !config.tiers.isEmpty else { throw Problem(description: "no [[tiers]] in the config: at least one is needed") }
        return config
    }

    /// What `echo` would write for the value: `true` is `1`, as for a boolean knob.
    private static func knobValue(_ value: (any TOMLValueConvertible)?) -> String? {
        if let string = value?.string { return string }
        if let integer = value?.int { return String(integer) }
        if let boolean = value?.bool { return boolean ? "1" : "0" }
        return nil
    }
}
