import FolioMemory
import Synchronization
import Sysfs
import SystemCalls
import SystemPackage

/// The knob values changed since the daemon first started (by a write through the mount or
/// a SIGHUP), kept in a memfd in the service manager's fd store under `knobs`: a restarted
/// daemon applies them after the config's `[knobs]`, so knobs come back as the operator left
/// them. Each knob keeps its latest value, in the order of the latest changes, so replaying
/// them in order ends where the operator did. One `path<TAB>value` line each.
final class KnobJournal: Sendable {
    static let storeName = "knobs"
    private let fd: FileDescriptor
    private let entries: Mutex<[(path: String, value: String)]>

    private init(fd: FileDescriptor, entries: [(path: String, value: String)]) {
        self.fd = fd
        self.entries = Mutex(entries)
    }

    /// The journal the previous instance stored, or a new one put in the store; nil outside
    /// systemd (nothing outlives the process there).
    static func open(passed: inout PassedDescriptors, notifier: SystemdNotifier) -> KnobJournal? {
        let stored = passed.take { $0 == storeName }
        for extra in stored.dropFirst() { Posix.close(extra.fd) }
        if let (_, raw) = stored.first {
            let fd = FileDescriptor(rawValue: raw)
            return KnobJournal(fd: fd, entries: read(fd))
        }
        guard notifier.isActive, let fd = try? MemorySystem.anonymousFile(name: "foliod-knobs", bytes: 0) else { return nil }
        notifier.store([fd.rawValue], name: storeName)
        return KnobJournal(fd: fd, entries: [])
    }

    /// The values to apply at start, oldest change first.
    var settings: [KnobSetting] {
        entries.withLock { $0.enumerated().map { KnobSetting(path: $1.path, value: $1.value, line: $0 + 1) } }
    }

    /// Records that `path` now holds `value` and rewrites the file.
    func record(path: String, value: String) {
        guard !path.contains("\t"), !path.contains("\n"), !value.contains("\t"), !value.contains("\n") else { return }
        entries.withLock { entries in
            entries.removeAll { $0.path == path }
            entries.append((path, value))
            let bytes = Array(entries.map { "\($0.path)\t\($0.value)\n" }.joined().utf8)
            // Written over the old text, then cut to length: a crash between the two leaves
            // every new line whole (and at worst a stray old one after them), never nothing.
            _ = try? fd.writeAll(toAbsoluteOffset: 0, bytes)
            _ = try? fd.resize(to: Int64(bytes.count))
        }
    }

    private static func read(_ fd: FileDescriptor) -> [(path: String, value: String)] {
        guard let size = try? MemorySystem.size(of: fd), size > 0, size < 1 << 20 else { return [] }
        var bytes = [UInt8](repeating: 0, count: size)
        let count = (try? bytes.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }) ?? 0
        return String(decoding: bytes.prefix(count), as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }
    }
}
