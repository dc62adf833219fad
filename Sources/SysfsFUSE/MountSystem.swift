import CLinux
import Glibc
import SystemCalls
import SystemPackage

/// The few mount-related calls swift-system lacks, each wrapped once over `Posix.call`; the
/// only file in this target that imports Glibc.
enum MountSystem {
    /// `stat(2)`; returns the mode bits and the device.
    static func status(_ path: String) throws(SystemCallError) -> (mode: mode_t, device: dev_t) {
        let info = try Posix.status(of: path)
        return (info.st_mode, info.st_dev)
    }

    /// Whether `path` is a directory.
    static func isDirectory(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFDIR }

    /// The names in directory `path` other than `.` and `..`.
    static func entries(_ path: String) throws(SystemCallError) -> [String] {
        var opened: OpaquePointer?
        try Posix.call("opendir \(path)") {
            opened = opendir(path)
            return opened == nil ? -1 : 0
        }
        // A successful opendir never returns NULL.
        let directory = opened!
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            // d_name is a fixed 256-byte array, so its buffer always has a base address.
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The file-system type mounted at `path` (`fuse.foliod`), from `/proc/self/mountinfo`
    /// (the last mount there wins); nil when nothing is. Reads no file under `path`: a FUSE
    /// mount nobody serves yet would not answer.
    static func mountType(at path: String) -> String? {
        guard let fd = try? FileDescriptor.open("/proc/self/mountinfo", .readOnly, options: .closeOnExec) else { return nil }
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while let count = try? chunk.withUnsafeMutableBytes({ try fd.read(into: $0) }), count > 0 { bytes += chunk.prefix(count) }
        let text = String(decoding: bytes, as: UTF8.self)
        var found: String?
        for line in text.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 5, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            if unescaped(fields[4]) == path { found = fields[dash + 1] }
        }
        return found
    }

    /// mountinfo's octal escapes (`\040` for a space) undone.
    private static func unescaped(_ field: String) -> String {
        var bytes: [UInt8] = []
        var characters = Array(field.utf8)[...]
        while let byte = characters.popFirst() {
            if byte == UInt8(ascii: "\\"), characters.count >= 3, let value = UInt8(String(decoding: characters.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                characters = characters.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A new memfd for a mount's handover (`KnobSession.Handover`).
    static func handoverFile() throws(SystemCallError) -> FileDescriptor {
        FileDescriptor(rawValue: try Posix.call("memfd_create") { clinux_memfd_create("foliod-fuse", clinux_mfd_cloexec) })
    }

    /// `umount2(path, MNT_DETACH)`: lazy, so a mount with open files goes at once.
    static func detach(_ path: String) throws(SystemCallError) {
        try Posix.call("umount2") { umount2(path, Int32(MNT_DETACH)) }
    }
}
