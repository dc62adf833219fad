import CFuse
import Sysfs
import SystemPackage

/// The libfuse low-level operations table. Each entry decodes its C arguments, routes to the
/// `KnobFileSystem` of the `KnobSession` found through the request's user data (C callbacks
/// cannot capture), and sends the one reply the request gets. Node ids are `KnobNodes`'s,
/// fixed by path, so a successor on the same connection answers the ids the kernel holds.
enum KnobOperations {
    /// Names and attributes the kernel may cache, in seconds.
    static let cacheTimeout = 1.0

    static func table() -> fuse_lowlevel_ops {
        var operations = fuse_lowlevel_ops()
        operations.lookup = { request, parent, name in
            guard let request, let name else { return }
            let session = KnobOperations.session(request)
            do throws(Errno) {
                let child = try session.nodes.child(String(cString: name), of: parent)
                var info = stat()
                try KnobOperations.check(session.fileSystem.getattr(child.path, &info))
                _ = cfuse_reply_entry(request, child.id, &info, KnobOperations.cacheTimeout)
            } catch {
                _ = fuse_reply_err(request, error.rawValue)
            }
        }
        operations.getattr = { request, node, _ in
            guard let request else { return }
            KnobOperations.replyAttributes(request, node)
        }
        operations.setattr = { request, node, attributes, changes, _ in
            guard let request, let attributes else { return }
            KnobOperations.setAttributes(request, node, attributes.pointee, changes)
        }
        operations.readdir = { request, node, size, offset, _ in
            guard let request else { return }
            KnobOperations.readDirectory(request, node, size: size, offset: Int(offset))
        }
        operations.opendir = { request, node, info in
            guard let request, let info else { return }
            _ = fuse_reply_open(request, info)
        }
        operations.releasedir = { request, _, _ in _ = fuse_reply_err(request, 0) }
        operations.open = { request, node, info in
            guard let request, let info else { return }
            let session = KnobOperations.session(request)
            do throws(Errno) {
                let path = try session.nodes.path(of: node)
                let handle = try session.fileSystem.open(path, flags: cfuse_file_flags(info)).get()
                _ = cfuse_reply_open(request, info, handle)
            } catch {
                _ = fuse_reply_err(request, error.rawValue)
            }
        }
        operations.release = { request, _, info in
            if let request, let info { KnobOperations.session(request).fileSystem.release(cfuse_file_handle(info)) }
            _ = fuse_reply_err(request, 0)
        }
        operations.flush = { request, _, _ in _ = fuse_reply_err(request, 0) }
        operations.read = { request, node, size, offset, info in
            guard let request, let info else { return }
            KnobOperations.read(request, node, size: size, offset: Int(offset), handle: cfuse_file_handle(info))
        }
        operations.write = { request, node, buffer, size, _, info in
            guard let request, let buffer, let info else { return }
            KnobOperations.write(request, node, UnsafeRawBufferPointer(start: buffer, count: size), handle: cfuse_file_handle(info))
        }
        operations.poll = { request, node, info, pollHandle in
            guard let request, let info else { return }
            let session = KnobOperations.session(request)
            do throws(Errno) {
                let file = try session.fileSystem.file(cfuse_file_handle(info), path: try session.nodes.path(of: node)).get()
                _ = fuse_reply_poll(request, session.fileSystem.poll(file, handle: pollHandle.map(PollHandle.init)))
            } catch {
                _ = fuse_reply_err(request, error.rawValue)
            }
        }
        operations.forget = { request, _, _ in fuse_reply_none(request) }
        operations.forget_multi = { request, _, _ in fuse_reply_none(request) }
        // As on sysfs: creating a file is EACCES (the VFS answer for a directory without
        // `create`); every other change to the tree's shape is EPERM.
        operations.create = { request, _, _, _, _ in _ = fuse_reply_err(request, Errno.permissionDenied.rawValue) }
        operations.mknod = { request, _, _, _, _ in _ = fuse_reply_err(request, Errno.notPermitted.rawValue) }
        operations.mkdir = { request, _, _, _ in _ = fuse_reply_err(request, Errno.notPermitted.rawValue) }
        operations.symlink = { request, _, _, _ in _ = fuse_reply_err(request, Errno.notPermitted.rawValue) }
        operations.link = { request, _, _, _ in _ = fuse_reply_err(request, Errno.notPermitted.rawValue) }
        operations.unlink = { request, _, _ in _ = fuse_reply_err(request, Errno.notPermitted.rawValue) }
        operations.rmdir = { request, _, _ in _ = fuse_reply_err(request, Errno.notPermitted.rawValue) }
        operations.rename = { request, _, _, _, _, _ in _ = fuse_reply_err(request, Errno.notPermitted.rawValue) }
        return operations
    }

    private static func session(_ request: fuse_req_t) -> KnobSession {
        // The session's user data is the KnobSession, kept alive until its loop has ended.
        Unmanaged<KnobSession>.fromOpaque(fuse_req_userdata(request)!).takeUnretainedValue()
    }

    /// A file-system result (0 or a negative errno) as a throw.
    private static func check(_ result: Int32) throws(Errno) {
        if result < 0 { throw Errno(rawValue: -result) }
    }

    private static func replyAttributes(_ request: fuse_req_t, _ node: UInt64) {
        let session = session(request)
        do throws(Errno) {
            var info = stat()
            try check(session.fileSystem.getattr(try session.nodes.path(of: node), &info))
            _ = fuse_reply_attr(request, &info, cacheTimeout)
        } catch {
            _ = fuse_reply_err(request, error.rawValue)
        }
    }

    /// chmod, chown and touch; a size (`>` opens with O_TRUNC) is accepted and ignored: a knob
    /// has no length to cut.
    private static func setAttributes(_ request: fuse_req_t, _ node: UInt64, _ wanted: stat, _ changes: Int32) {
        let fileSystem = session(request).fileSystem
        do throws(Errno) {
            let path = try session(request).nodes.path(of: node)
            if cfuse_setattr_mode(changes) != 0 { try check(fileSystem.chmod(path, mode: wanted.st_mode)) }
            if cfuse_setattr_uid(changes) != 0 || cfuse_setattr_gid(changes) != 0 {
                try check(fileSystem.chown(path, uid: cfuse_setattr_uid(changes) != 0 ? wanted.st_uid : uid_t.max,
                                           gid: cfuse_setattr_gid(changes) != 0 ? wanted.st_gid : gid_t.max))
            }
            let access = time(changes, set: cfuse_setattr_atime(changes), now: cfuse_setattr_atime_now(changes), wanted.st_atim)
            let modification = time(changes, set: cfuse_setattr_mtime(changes), now: cfuse_setattr_mtime_now(changes), wanted.st_mtim)
            if access.tv_nsec != Int(cfuse_utime_omit) || modification.tv_nsec != Int(cfuse_utime_omit) {
                try check(fileSystem.utimens(path, access: access, modification: modification))
            }
        } catch {
            _ = fuse_reply_err(request, error.rawValue)
            return
        }
        replyAttributes(request, node)
    }

    /// One of setattr's times as utimensat takes it: the time, `UTIME_NOW` or `UTIME_OMIT`.
    private static func time(_ changes: Int32, set: Int32, now: Int32, _ value: timespec) -> timespec {
        if now != 0 { return timespec(tv_sec: 0, tv_nsec: Int(cfuse_utime_now)) }
        if set != 0 { return value }
        return timespec(tv_sec: 0, tv_nsec: Int(cfuse_utime_omit))
    }

    /// Entries from index `offset` on, as many as fit `size` bytes; each entry's offset is
    /// the index of the one after it.
    private static func readDirectory(_ request: fuse_req_t, _ node: UInt64, size: Int, offset: Int) {
        let session = session(request)
        let entries: [(name: String, id: UInt64, mode: mode_t)]
        do throws(Errno) {
            entries = try session.fileSystem.readdir(try session.nodes.path(of: node)).get()
        } catch {
            _ = fuse_reply_err(request, error.rawValue)
            return
        }
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(size, 1))
        defer { buffer.deallocate() }
        var used = 0
        for index in entries.indices.dropFirst(max(offset, 0)) {
            let entry = entries[index]
            let needed = cfuse_add_direntry(request, buffer + used, size - used, entry.name, entry.id, entry.mode, off_t(index + 1))
            if needed > size - used { break }
            used += needed
        }
        _ = fuse_reply_buf(request, buffer, used)
    }

    private static func read(_ request: fuse_req_t, _ node: UInt64, size: Int, offset: Int, handle: UInt64) {
        let session = session(request)
        guard offset >= 0 else { _ = fuse_reply_err(request, Errno.invalidArgument.rawValue); return }
        do throws(Errno) {
            let file = try session.fileSystem.file(handle, path: try session.nodes.path(of: node)).get()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 1)
            defer { buffer.deallocate() }
            let count = Int(session.fileSystem.read(file, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<size]), at: offset))
            _ = fuse_reply_buf(request, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), count)
        } catch {
            _ = fuse_reply_err(request, error.rawValue)
        }
    }

    private static func write(_ request: fuse_req_t, _ node: UInt64, _ bytes: UnsafeRawBufferPointer, handle: UInt64) {
        let session = session(request)
        do throws(Errno) {
            let file = try session.fileSystem.file(handle, path: try session.nodes.path(of: node)).get()
            let result = session.fileSystem.write(file, bytes, pid: cfuse_req_pid(request), uid: UInt32(cfuse_req_uid(request)))
            try check(result)
            _ = fuse_reply_write(request, Int(result))
        } catch {
            _ = fuse_reply_err(request, error.rawValue)
        }
    }
}
