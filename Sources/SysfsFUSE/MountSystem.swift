import Glibc
import SystemCalls
import SystemPackage

/// The few mount-related calls swift-system lacks, each wrapped once over `Posix.call`; the
/// only file in this target that imports Glibc.
enum MountSystem {
    /// `stat(2)`; returns the mode bits and the device.
    static func status(_ path: String) throws(SystemCallError) -> (mode: mode_t, device: dev_t) {
        var info = stat()
        try Posix.call("stat") { stat(path, &info) }
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

    /// `umount2(path, MNT_DETACH)`: lazy, so a mount with open files goes at once.
    static func detach(_ path: String) throws(SystemCallError) {
        try Posix.call("umount2") { umount2(path, Int32(MNT_DETACH)) }
    }
}
