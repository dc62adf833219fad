import SystemPackage

extension Errno {
    /// The symbolic name (`EINVAL`), as knob errors, logs and `folioctl`'s status lines print it.
    public var name: String {
        Errno.names[rawValue] ?? "E\(rawValue)"
    }

    private static let names: [CInt: String] = [
        Errno.notPermitted.rawValue: "EPERM",
        Errno.brokenPipe.rawValue: "EPIPE",
        Errno.addressInUse.rawValue: "EADDRINUSE",
        Errno.connectionRefused.rawValue: "ECONNREFUSED",
        Errno.connectionReset.rawValue: "ECONNRESET",
        Errno.socketIsConnected.rawValue: "EISCONN",
        Errno.diskQuotaExceeded.rawValue: "EDQUOT",
        Errno.tooManyUsers.rawValue: "EUSERS",
        Errno.noSuchFileOrDirectory.rawValue: "ENOENT",
        Errno.interrupted.rawValue: "EINTR",
        Errno.ioError.rawValue: "EIO",
        Errno.argListTooLong.rawValue: "E2BIG",
        Errno.badFileDescriptor.rawValue: "EBADF",
        Errno.resourceTemporarilyUnavailable.rawValue: "EAGAIN",
        Errno.noMemory.rawValue: "ENOMEM",
        Errno.permissionDenied.rawValue: "EACCES",
        Errno.badAddress.rawValue: "EFAULT",
        Errno.resourceBusy.rawValue: "EBUSY",
        Errno.fileExists.rawValue: "EEXIST",
        Errno.notDirectory.rawValue: "ENOTDIR",
        Errno.isDirectory.rawValue: "EISDIR",
        Errno.invalidArgument.rawValue: "EINVAL",
        Errno.noSpace.rawValue: "ENOSPC",
        Errno.outOfRange.rawValue: "ERANGE",
        Errno.noFunction.rawValue: "ENOSYS",
        Errno.notSupportedOnSocket.rawValue: "EOPNOTSUPP",
        Errno.timedOut.rawValue: "ETIMEDOUT",
        Errno.protocolNotSupported.rawValue: "EPROTONOSUPPORT",
        Errno.badMessage.rawValue: "EBADMSG",
        Errno.messageTooLong.rawValue: "EMSGSIZE",
        Errno.socketNotConnected.rawValue: "ENOTCONN",
        Errno.fileNameTooLong.rawValue: "ENAMETOOLONG",
        Errno.tooManyOpenFiles.rawValue: "EMFILE",
        Errno.noBufferSpace.rawValue: "ENOBUFS",
        Errno.notSocket.rawValue: "ENOTSOCK",
        Errno.readOnlyFileSystem.rawValue: "EROFS",
        Errno.noData.rawValue: "ENODATA",
        Errno.socketShutdown.rawValue: "ESHUTDOWN",
        Errno.tooManyOpenFilesInSystem.rawValue: "ENFILE",
    ]
}
