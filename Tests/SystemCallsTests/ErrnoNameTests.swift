import Glibc
import SystemPackage
import Testing
@testable import SystemCalls

/// `Errno.name`: the C macro's name for each errno the project reports, `E<number>` for others.
struct ErrnoNameTests {
    /// Glibc's value of each macro, so a name attached to the wrong `Errno` case shows.
    static let named: [(Int32, String)] = [
        (EPERM, "EPERM"), (EPIPE, "EPIPE"), (EADDRINUSE, "EADDRINUSE"), (ECONNREFUSED, "ECONNREFUSED"),
        (ECONNRESET, "ECONNRESET"), (EISCONN, "EISCONN"), (EDQUOT, "EDQUOT"), (EUSERS, "EUSERS"), (ENOENT, "ENOENT"),
        (EINTR, "EINTR"), (EIO, "EIO"), (E2BIG, "E2BIG"), (EBADF, "EBADF"), (EAGAIN, "EAGAIN"), (ENOMEM, "ENOMEM"),
        (EACCES, "EACCES"), (EFAULT, "EFAULT"), (EBUSY, "EBUSY"), (EEXIST, "EEXIST"), (ENOTDIR, "ENOTDIR"),
        (EISDIR, "EISDIR"), (EINVAL, "EINVAL"), (ENOSPC, "ENOSPC"), (ERANGE, "ERANGE"), (ENOSYS, "ENOSYS"),
        (EOPNOTSUPP, "EOPNOTSUPP"), (ETIMEDOUT, "ETIMEDOUT"), (EPROTONOSUPPORT, "EPROTONOSUPPORT"), (EBADMSG, "EBADMSG"),
        (EMSGSIZE, "EMSGSIZE"), (ENOTCONN, "ENOTCONN"), (ENAMETOOLONG, "ENAMETOOLONG"), (EMFILE, "EMFILE"),
        (ENOBUFS, "ENOBUFS"), (ENOTSOCK, "ENOTSOCK"), (EROFS, "EROFS"), (ENODATA, "ENODATA"), (ESHUTDOWN, "ESHUTDOWN"),
        (ENFILE, "ENFILE"),
    ]

    @Test(arguments: named)
    func name_isTheMacrosName(code: Int32, expected: String) {
        #expect(Errno(rawValue: code).name == expected)
    }

    @Test(arguments: [
        (Errno.invalidArgument, "EINVAL"), (.noSuchFileOrDirectory, "ENOENT"), (.resourceTemporarilyUnavailable, "EAGAIN"),
        (.wouldBlock, "EAGAIN"), (.notSupported, "EOPNOTSUPP"), (.badMessage, "EBADMSG"), (.diskQuotaExceeded, "EDQUOT"),
    ] as [(Errno, String)])
    func name_ofTheSwiftSystemCases(errno: Errno, expected: String) {
        #expect(errno.name == expected)
    }

    @Test(arguments: [(ENOTTY, "E25"), (EXDEV, "E18"), (ELOOP, "E40"), (0, "E0"), (4095, "E4095"), (-1, "E-1")] as [(Int32, String)])
    func name_ofAnErrnoWithoutAName_isItsNumber(code: Int32, expected: String) {
        #expect(Errno(rawValue: code).name == expected)
    }

    @Test func names_areDistinct() {
        #expect(Set(Self.named.map(\.1)).count == Self.named.count)
        #expect(Set(Self.named.map(\.0)).count == Self.named.count)
    }
}
