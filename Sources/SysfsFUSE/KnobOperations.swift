import CFuse
import Sysfs
import SystemPackage

/// The libfuse operations table. Each entry decodes its C arguments, routes to the
/// `KnobFileSystem` found through `fuse_get_context()`'s private data (C callbacks cannot
/// capture), and returns the one result libfuse replies with.
enum KnobOperations {
    static func table() -> fuse_operations {
        var operations = fuse_operations()
        operations.`init` = { _, config in
            if let config { cfuse_config_init(config) }
            return cfuse_private_data()
        }
        operations.getattr = { path, info, _ in
            guard let path, let info else { return -Errno.invalidArgument.rawValue }
            return KnobOperations.fileSystem.getattr(String(cString: path), info)
        }
        operations.readdir = { path, buffer, filler, _, _, _ in
            guard let path, let filler else { return -Errno.invalidArgument.rawValue }
            return KnobOperations.fileSystem.readdir(String(cString: path)) { name in _ = cfuse_fill_dir(filler, buffer, name) }
        }
        operations.open = { path, info in
            guard let path, let info else { return -Errno.invalidArgument.rawValue }
            switch KnobOperations.fileSystem.open(String(cString: path), flags: cfuse_file_flags(info)) {
            case .failure(let error):
                return -error.rawValue
            case .success(let file):
                cfuse_file_set_handle(info, UInt64(UInt(bitPattern: Unmanaged.passRetained(file).toOpaque())))
                cfuse_file_set_direct_io(info)
                return 0
            }
        }
        operations.release = { _, info in
            guard let info else { return 0 }
            let file = Unmanaged<OpenKnob>.fromOpaque(KnobOperations.handle(info)).takeRetainedValue()
            KnobOperations.fileSystem.release(file)
            return 0
        }
        operations.read = { _, buffer, size, offset, info in
            guard let buffer, let info, offset >= 0 else { return -Errno.invalidArgument.rawValue }
            return KnobOperations.fileSystem.read(KnobOperations.openKnob(info), into: UnsafeMutableRawBufferPointer(start: buffer, count: size), at: Int(offset))
        }
        operations.write = { _, buffer, size, _, info in
            guard let buffer, let info else { return -Errno.invalidArgument.rawValue }
            return KnobOperations.fileSystem.write(
                KnobOperations.openKnob(info), UnsafeRawBufferPointer(start: buffer, count: size),
                pid: cfuse_caller_pid(), uid: UInt32(cfuse_caller_uid())
            )
        }
        operations.poll = { _, info, pollHandle, events in
            guard let info, let events else { return -Errno.invalidArgument.rawValue }
            events.pointee = KnobOperations.fileSystem.poll(KnobOperations.openKnob(info), handle: pollHandle.map(PollHandle.init))
            return 0
        }
        operations.chmod = { path, mode, _ in
            guard let path else { return -Errno.invalidArgument.rawValue }
            return KnobOperations.fileSystem.chmod(String(cString: path), mode: mode)
        }
        operations.chown = { path, uid, gid, _ in
            guard let path else { return -Errno.invalidArgument.rawValue }
            return KnobOperations.fileSystem.chown(String(cString: path), uid: uid, gid: gid)
        }
        operations.utimens = { path, times, _ in
            guard let path else { return -Errno.invalidArgument.rawValue }
            let now = cfuse_now()
            let (access, modification) = times.map { ($0[0], $0[1]) } ?? (now, now)
            return KnobOperations.fileSystem.utimens(String(cString: path), access: access, modification: modification)
        }
        // `>` opens with O_TRUNC; a knob has no length to cut, so truncation is accepted and ignored.
        operations.truncate = { _, _, _ in 0 }
        // As on sysfs: creating a file is EACCES (the VFS answer for a directory without
        // `create`); every other change to the tree's shape is EPERM.
        operations.create = { _, _, _ in -Errno.permissionDenied.rawValue }
        operations.mknod = { _, _, _ in -Errno.notPermitted.rawValue }
        operations.mkdir = { _, _ in -Errno.notPermitted.rawValue }
        operations.symlink = { _, _ in -Errno.notPermitted.rawValue }
        operations.link = { _, _ in -Errno.notPermitted.rawValue }
        operations.unlink = { _ in -Errno.notPermitted.rawValue }
        operations.rmdir = { _ in -Errno.notPermitted.rawValue }
        operations.rename = { _, _, _ in -Errno.notPermitted.rawValue }
        return operations
    }

    private static var fileSystem: KnobFileSystem {
        // Set by KnobMount before the first request and kept alive until after the last one.
        Unmanaged<KnobFileSystem>.fromOpaque(cfuse_private_data()!).takeUnretainedValue()
    }

    private static func handle(_ info: UnsafeMutablePointer<fuse_file_info>) -> UnsafeMutableRawPointer {
        // Every file handle was set by `open` from a retained OpenKnob.
        UnsafeMutableRawPointer(bitPattern: UInt(cfuse_file_handle(info)))!
    }

    private static func openKnob(_ info: UnsafeMutablePointer<fuse_file_info>) -> OpenKnob {
        Unmanaged<OpenKnob>.fromOpaque(KnobOperations.handle(info)).takeUnretainedValue()
    }
}
