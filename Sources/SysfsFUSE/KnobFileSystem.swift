import CFuse
import Synchronization
import Sysfs
import SystemCalls
import SystemPackage

/// The file-system side of the tree: what each FUSE operation means for a knob, with sysfs
/// semantics. Every method answers with a result for exactly one reply: a count or 0 on
/// success, a negative errno on failure. `KnobOperations` only decodes and routes here.
///
/// Locking: `openFiles` guards the open knobs by file handle, which change notification walks;
/// `attributes` guards what chmod, chown and touch changed on each node.
final class KnobFileSystem: Sendable {
    /// What `stat` shows as every knob's size, as sysfs does.
    static let knobFileSize = 4096
    /// DEFAULT_POLLMASK: a knob is always readable and writable.
    static let defaultPollMask = UInt32(POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

    let tree: SysfsTree
    private let onWrite: (@Sendable (KnobWrite) -> Void)?
    private let mountTime = timespec(tv_sec: time(nil), tv_nsec: 0)
    private let openFiles = Mutex<[UInt64: OpenKnob]>([:])
    // File handles this instance gives out start at nanoseconds since boot (CLOCK_BOOTTIME
    // never steps back), above any a predecessor gave, which opened far fewer files than
    // nanoseconds passed: a handle the kernel still holds from one never meets a new file's.
    private let nextHandle = Atomic<UInt64>(KnobFileSystem.nanosecondsSinceBoot())
    // Only nodes someone changed have an entry; the rest show the tree's mode and mount time.
    private let attributes = Mutex<[String: NodeAttributes]>([:])

    init(tree: SysfsTree, onWrite: (@Sendable (KnobWrite) -> Void)?) {
        self.tree = tree
        self.onWrite = onWrite
        for (_, attribute) in tree.allAttributes() {
            attribute.observe { [weak self] changed in self?.attributeChanged(changed) }
        }
    }

    func getattr(_ path: String, _ info: UnsafeMutablePointer<stat>) -> Int32 {
        let node: SysfsNode
        do { node = try tree.lookup(path) } catch { return -error.rawValue }
        let current = nodeAttributes(path, node)
        info.pointee = stat()
        info.pointee.st_ino = ino_t(KnobNodes.id(of: Self.key(path)))
        info.pointee.st_uid = current.uid
        info.pointee.st_gid = current.gid
        info.pointee.st_atim = current.accessed
        info.pointee.st_mtim = current.modified
        info.pointee.st_ctim = current.changed
        info.pointee.st_blksize = 4096
        switch node {
        case .directory(let directory):
            info.pointee.st_mode = mode_t(S_IFDIR) | current.mode
            info.pointee.st_nlink = 2 + UInt(directory.children.count { if case .directory = $0 { true } else { false } })
        case .attribute:
            info.pointee.st_mode = mode_t(S_IFREG) | current.mode
            info.pointee.st_nlink = 1
            info.pointee.st_size = Self.knobFileSize
        }
        return 0
    }

    /// `chmod`: as on sysfs, root may change a node's permission bits (the kernel has already
    /// refused anyone else, through `default_permissions`).
    func chmod(_ path: String, mode: mode_t) -> Int32 {
        changeAttributes(path) { $0.mode = mode & 0o7777 }
    }

    /// `chown`; -1 leaves that id as it is.
    func chown(_ path: String, uid: uid_t, gid: gid_t) -> Int32 {
        changeAttributes(path) { attributes in
            if uid != uid_t.max { attributes.uid = uid }
            if gid != gid_t.max { attributes.gid = gid }
        }
    }

    /// `utimensat`, which `touch` calls.
    func utimens(_ path: String, access: timespec, modification: timespec) -> Int32 {
        let now = cfuse_now()
        return changeAttributes(path) { $0.touch(access: access, modification: modification, now: now) }
    }

    private func changeAttributes(_ path: String, _ change: (inout NodeAttributes) -> Void) -> Int32 {
        let node: SysfsNode
        do { node = try tree.lookup(path) } catch { return -error.rawValue }
        var current = nodeAttributes(path, node)
        change(&current)
        current.changed = cfuse_now()
        attributes.withLock { $0[Self.key(path)] = current }
        return 0
    }

    private func nodeAttributes(_ path: String, _ node: SysfsNode) -> NodeAttributes {
        if let changed = attributes.withLock({ $0[Self.key(path)] }) { return changed }
        switch node {
        case .directory: return NodeAttributes(mode: 0o755, time: mountTime)
        case .attribute(let attribute): return NodeAttributes(mode: attribute.mode.rawValue, time: mountTime)
        }
    }

    private static func key(_ path: String) -> String {
        path.hasPrefix("/") ? String(path.dropFirst()) : path
    }

    /// A directory's entries, `.` and `..` first: name, node id and file type.
    func readdir(_ path: String) -> Result<[(name: String, id: UInt64, mode: mode_t)], Errno> {
        let node: SysfsNode
        do { node = try tree.lookup(path) } catch { return .failure(error) }
        guard case .directory(let directory) = node else { return .failure(.notDirectory) }
        let key = Self.key(path)
        let parent = key.split(separator: "/").dropLast().joined(separator: "/")
        var entries: [(name: String, id: UInt64, mode: mode_t)] = [(".", KnobNodes.id(of: key), mode_t(S_IFDIR)), ("..", KnobNodes.id(of: parent), mode_t(S_IFDIR))]
        for child in directory.children {
            let mode: mode_t = if case .directory = child { mode_t(S_IFDIR) } else { mode_t(S_IFREG) }
            entries.append((child.name, KnobNodes.id(of: key.isEmpty ? child.name : key + "/" + child.name), mode))
        }
        return .success(entries)
    }

    /// `kernfs_fop_open()`: a write open needs a `store` and a write bit in the node's current
    /// mode, a read open a read bit, for root too. (Mode and owner checks for other users are
    /// the kernel's, through `default_permissions`.)
    /// Returns the new file's handle.
    func open(_ path: String, flags: Int32) -> Result<UInt64, Errno> {
        let attribute: SysfsAttribute
        do { attribute = try tree.attribute(path) } catch { return .failure(error) }
        let current = nodeAttributes(path, .attribute(attribute))
        let access = flags & O_ACCMODE
        if access != O_RDONLY && !(attribute.isWritable && current.hasWriteBit) { return .failure(.permissionDenied) }
        if access != O_WRONLY && !current.hasReadBit { return .failure(.permissionDenied) }
        let handle = nextHandle.add(1, ordering: .relaxed).newValue
        openFiles.withLock { $0[handle] = OpenKnob(attribute, path: Self.key(path)) }
        return .success(handle)
    }

    /// The open file behind `handle`. A handle this instance never gave out was opened through
    /// a predecessor on the same connection (the kernel checked that open): it gets a file of
    /// its own here, as if just opened.
    /// A file found under `handle` for another node (a handle that should never repeat did)
    /// is not used: the request gets a file of its own for `path`.
    func file(_ handle: UInt64, path: String) -> Result<OpenKnob, Errno> {
        let key = Self.key(path)
        return openFiles.withLock { files -> Result<OpenKnob, Errno> in
            if let file = files[handle], file.path == key { return .success(file) }
            let attribute: SysfsAttribute
            do throws(Errno) { attribute = try tree.attribute(path) } catch { return .failure(error) }
            let file = OpenKnob(attribute, path: key)
            // Kept for its handle unless the handle already names another node's file.
            if files[handle] == nil { files[handle] = file }
            return .success(file)
        }
    }

    private static func nanosecondsSinceBoot() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_BOOTTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    func release(_ handle: UInt64) {
        openFiles.withLock { $0.removeValue(forKey: handle) }?.close()
    }

    func read(_ file: OpenKnob, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int32 {
        Int32(file.read(into: buffer, at: offset))
    }

    /// Every `write(2)` is one `store`, whatever its offset; each is reported to `onWrite`
    /// with the value before and after and the writer's pid and uid.
    func write(_ file: OpenKnob, _ bytes: UnsafeRawBufferPointer, pid: Int32, uid: UInt32) -> Int32 {
        let outcome = file.attribute.writeReporting(bytes)
        if let onWrite {
            let refusal: Errno? = if case .failure(let error) = outcome.consumed { error } else { nil }
            onWrite(KnobWrite(
                path: file.path, oldValue: outcome.before.withoutTrailingNewline, newValue: outcome.after.withoutTrailingNewline,
                pid: pid, uid: uid, refusal: refusal, input: KnobWrite.escaped(bytes)
            ))
        }
        switch outcome.consumed {
        case .success(let count): return Int32(count)
        case .failure(let error): return -error.rawValue
        }
    }

    /// `kernfs_fop_poll()`: arm the handle first, then look, so a change in between still wakes.
    func poll(_ file: OpenKnob, handle: PollHandle?) -> UInt32 {
        if let handle { file.armPoll(handle) }
        return Self.defaultPollMask | (file.hasUnseenChange ? UInt32(POLLERR | POLLPRI) : 0)
    }

    private func attributeChanged(_ attribute: SysfsAttribute) {
        let waiting = openFiles.withLock { $0.values.filter { $0.attribute === attribute } }
        for file in waiting { file.wakePoller() }
    }
}
