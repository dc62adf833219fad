import Glibc
import SystemPackage
import Testing
@testable import SystemCalls

/// `Posix.call` and `Posix.count`, driven by bodies that set errno the way a system call does.
struct PosixCallTests {
    /// A body that fails with each errno of `failures` in turn, then returns `result`; counts
    /// how often it ran.
    final class ScriptedCall {
        private var failures: [Int32]
        let result: Int
        private(set) var calls = 0

        init(failing failures: [Int32], then result: Int) {
            self.failures = failures
            self.result = result
        }

        func run() -> Int {
            calls += 1
            guard !failures.isEmpty else { return result }
            Glibc.errno = failures.removeFirst()
            return -1
        }
    }

    @Test(arguments: [
        ([], 0), ([EINTR], 7), ([EINTR, EINTR], 5), (Array(repeating: EINTR, count: 50), 1), ([EINTR, EINTR], -2),
    ] as [([Int32], Int)])
    func call_retriesEINTRAndReturnsWhatTheBodyReturned(failures: [Int32], result: Int) throws {
        let body = ScriptedCall(failing: failures, then: result)
        let returned = try Posix.call("test") { Int32(body.run()) }
        #expect(returned == Int32(result))
        #expect(body.calls == failures.count + 1)
    }

    @Test(arguments: [
        (EPERM, Errno.notPermitted), (ENOENT, .noSuchFileOrDirectory), (EAGAIN, .resourceTemporarilyUnavailable),
        (ENOMEM, .noMemory), (EACCES, .permissionDenied), (EINVAL, .invalidArgument), (EMFILE, .tooManyOpenFiles),
        (ECONNREFUSED, .connectionRefused), (ETIMEDOUT, .timedOut), (EIO, .ioError),
    ] as [(Int32, Errno)])
    func call_throwsAnyOtherErrnoOnceWithTheCallsName(code: Int32, expected: Errno) {
        let body = ScriptedCall(failing: [code], then: 0)
        #expect(throws: SystemCallError(call: "open /nowhere", errno: expected)) {
            try Posix.call("open /nowhere") { Int32(body.run()) }
        }
        #expect(body.calls == 1, "an errno other than EINTR is not retried")
    }

    @Test func call_throwsTheErrnoThatFollowsAnEINTR() {
        let body = ScriptedCall(failing: [EINTR, EINTR, ENOSPC, EINTR], then: 0)
        #expect(throws: SystemCallError(call: "write", errno: .noSpace)) { try Posix.call("write") { Int32(body.run()) } }
        #expect(body.calls == 3)
    }

    @Test func call_buildsItsNameOnlyWhenItFails() throws {
        var built = 0
        func name() -> String {
            built += 1
            return "stat /tmp"
        }
        try Posix.call(name()) { 0 }
        try Posix.call(name()) { 3 }
        #expect(built == 0)
        let body = ScriptedCall(failing: [EACCES], then: 0)
        #expect(throws: SystemCallError.self) { try Posix.call(name()) { Int32(body.run()) } }
        #expect(built == 1)
    }

    @Test(arguments: [
        ([], 0), ([], 4096), ([EINTR], 17), ([EINTR, EINTR, EINTR], Int(Int32.max) + 1),
    ] as [([Int32], Int)])
    func count_returnsTheCountAfterRetryingEINTR(failures: [Int32], result: Int) throws {
        let body = ScriptedCall(failing: failures, then: result)
        #expect(try Posix.count("read") { body.run() } == result)
        #expect(body.calls == failures.count + 1)
    }

    @Test(arguments: [(EAGAIN, Errno.resourceTemporarilyUnavailable), (EPIPE, .brokenPipe), (ECONNRESET, .connectionReset)] as [(Int32, Errno)])
    func count_throwsTheErrnoWithTheCallsName(code: Int32, expected: Errno) {
        let body = ScriptedCall(failing: [EINTR, code], then: 1)
        #expect(throws: SystemCallError(call: "sendmsg /run/x.sock", errno: expected)) {
            try Posix.count("sendmsg /run/x.sock") { body.run() }
        }
        #expect(body.calls == 2)
    }

    @Test(arguments: [EBADF, EFAULT])
    func call_stopsTheProcessOnAnErrnoThatMeansABug(code: Int32) async {
        await #expect(processExitsWith: .failure) { [code] in
            _ = try? Posix.call("close") {
                Glibc.errno = code
                return -1
            }
        }
    }

    @Test func call_reportsTheRealSystemCallsErrno() throws {
        #expect(throws: SystemCallError(call: "stat /nonexistent/foliod", errno: .noSuchFileOrDirectory)) {
            try Posix.kind(of: "/nonexistent/foliod")
        }
        #expect(try Posix.kind(of: "/") == .directory)
    }
}

/// `Posix.setCloseOnExec`: sets FD_CLOEXEC on an open descriptor, refuses one that is not open.
struct CloseOnExecTests {
    static func closeOnExec(_ fd: Int32) -> Bool {
        fcntl(fd, F_GETFD) & FD_CLOEXEC != 0
    }

    @Test(arguments: ["/dev/null", "/"])
    func setCloseOnExec_setsTheFlagOnAnOpenDescriptor(path: String) throws {
        let fd = open(path, O_RDONLY)  // no O_CLOEXEC: the flag starts clear
        try #require(fd >= 0)
        defer { Glibc.close(fd) }
        #expect(!Self.closeOnExec(fd))
        #expect(Posix.setCloseOnExec(fd))
        #expect(Self.closeOnExec(fd))
        #expect(Posix.setCloseOnExec(fd), "setting it again still succeeds")
        #expect(Self.closeOnExec(fd))
    }

    @Test func setCloseOnExec_leavesTheFileStatusFlagsAlone() throws {
        let fd = open("/dev/null", O_WRONLY | O_APPEND | O_NONBLOCK)
        try #require(fd >= 0)
        defer { Glibc.close(fd) }
        let before = fcntl(fd, F_GETFL)
        #expect(Posix.setCloseOnExec(fd))
        #expect(fcntl(fd, F_GETFL) == before)
    }

    /// Descriptors that cannot be open (a freshly closed one could be reused at once by a
    /// test running in parallel, so numbers past any limit stand for "not open").
    @Test(arguments: [Int32(-1), -3, Int32.max, 1 << 30])
    func setCloseOnExec_isFalseOnADescriptorThatIsNotOpen(fd: Int32) {
        #expect(fcntl(fd, F_GETFD) == -1)
        #expect(!Posix.setCloseOnExec(fd))
    }
}
