import FolioMemory
import FolioSharedMemory
import Synchronization
import Sysfs
import SystemCalls
import SystemPackage

/// The knob tree's settings as the operator left them, kept in a memfd in the service
/// manager's fd store under `knobs`, so a restarted daemon ends in the same state.
///
/// It holds state, not writes: after every change (a write through the mount, a SIGHUP) the
/// whole `SysfsTree.settings()` is stored again, so whichever knobs and order the operator
/// used (`echo 1 > dcbm/offloading`, then `echo mtcopy > migration/offload_migrator`), the
/// restart writes back only what is in force now (`migration/offload_migrator = mtcopy`).
/// Beside it, the config's `[knobs]` lines that were in force, so that a line edited in the
/// config since then wins over the stored state at the next start, as a reload would have.
///
/// One line each: `state<TAB>path<TAB>value` or `config<TAB>path<TAB>value`.
final class KnobJournal: Sendable {
    static let storeName = "knobs"

    /// What a previous instance left: the tree's settings and the `[knobs]` lines in force.
    struct Contents: Equatable {
        var state: [KnobSetting] = []
        var config: [KnobSetting] = []
    }

    private let fd: FileDescriptor
    private let lock = Mutex(())
    /// What the previous instance stored (empty for a new journal).
    let stored: Contents

    private init(fd: FileDescriptor, stored: Contents) {
        self.fd = fd
        self.stored = stored
    }

    /// The journal the previous instance stored, or a new one put in the store; nil outside
    /// systemd (nothing outlives the process there).
    static func open(passed: inout PassedDescriptors, notifier: SystemdNotifier) -> KnobJournal? {
        let found = passed.take { $0 == storeName }
        for extra in found.dropFirst() { Posix.close(extra.fd) }
        if let (_, raw) = found.first {
            let fd = FileDescriptor(rawValue: raw)
            return KnobJournal(fd: fd, stored: parse(read(fd)))
        }
        guard notifier.isActive, let fd = try? SharedMemory.anonymousFile(name: "foliod-knobs", bytes: 0) else { return nil }
        notifier.store([fd.rawValue], name: storeName)
        return KnobJournal(fd: fd, stored: Contents())
    }

    /// Stores what `contents` returns now. It is called under the journal's lock, after the
    /// change it records: of two racing writers, the one that records last sees both changes.
    func record(_ contents: () -> Contents) {
        lock.withLock { _ in
            let bytes = Array(Self.format(contents()).utf8)
            // Written over the old text, then cut to length: a crash between the two leaves
            // every new line whole (and at worst a stray old one after them), never nothing.
            _ = try? fd.writeAll(toAbsoluteOffset: 0, bytes)
            _ = try? fd.resize(to: Int64(bytes.count))
        }
    }

    /// The journal's text; a setting that cannot be written on one line is left out.
    static func format(_ contents: Contents) -> String {
        func lines(_ kind: String, _ settings: [KnobSetting]) -> [String] {
            settings.filter { !($0.path + $0.value).contains(where: { $0 == "\t" || $0 == "\n" }) }
                .map { "\(kind)\t\($0.path)\t\($0.value)\n" }
        }
        return (lines("state", contents.state) + lines("config", contents.config)).joined()
    }

    /// Reads `format`'s text; a line of another shape is skipped. A journal an older daemon
    /// wrote (`path<TAB>value`, what knobs showed) is read as state: what of it the knobs
    /// refuse is logged at the restore and replaced at the next change.
    static func parse(_ text: String) -> Contents {
        var contents = Contents()
        for (index, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            switch fields.count {
            case 3 where fields[0] == "state": contents.state.append(KnobSetting(path: fields[1], value: fields[2], line: index + 1))
            case 3 where fields[0] == "config": contents.config.append(KnobSetting(path: fields[1], value: fields[2], line: index + 1))
            case 2: contents.state.append(KnobSetting(path: fields[0], value: fields[1], line: index + 1))
            default: continue
            }
        }
        return contents
    }

    private static func read(_ fd: FileDescriptor) -> String {
        String(decoding: Posix.contents(of: fd, below: 1 << 20) ?? [], as: UTF8.self)
    }
}
