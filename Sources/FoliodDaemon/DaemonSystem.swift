import CLinux
import Glibc
import SystemCalls
import SystemPackage

/// The daemon's own system calls, each wrapped once over `Posix.call` where they report
/// through errno: signal masks, the fd limit, and the datagram socket the systemd notify
/// protocol speaks. The only file of this target that imports Glibc.
enum DaemonSystem {
    /// A set of signals.
    struct SignalSet {
        fileprivate var raw = sigset_t()
    }

    static let terminate = SIGTERM
    static let interrupt = SIGINT
    static let hangup = SIGHUP

    /// Blocks `signals` in the calling thread (and every thread it starts later).
    static func block(_ signals: [Int32]) -> SignalSet {
        var set = SignalSet()
        sigemptyset(&set.raw)
        for signal in signals { sigaddset(&set.raw, signal) }
        pthread_sigmask(SIG_BLOCK, &set.raw, nil)
        return set
    }

    /// The next signal of `set`, waiting for it.
    static func waitForSignal(in set: SignalSet) -> Int32 {
        var set = set
        var signal: Int32 = 0
        while sigwait(&set.raw, &signal) != 0 {}
        return signal
    }

    /// Writes `text` to standard error whole (log lines and start-up errors).
    static func writeStandardError(_ text: String) {
        _ = try? FileDescriptor.standardError.writeAll(Array(text.utf8))
    }

    /// Raises the soft `RLIMIT_NOFILE` to `wanted`, or as near as the hard limit allows (it never
    /// lowers it). Returns the soft and hard limits now in force.
    static func raiseFileLimit(to wanted: Int) -> (soft: Int, hard: Int) {
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard (try? Posix.call("getrlimit", { getrlimit(resource, &limit) })) != nil else { return (0, 0) }
        let target = min(rlim_t(max(wanted, 0)), limit.rlim_max)
        if target > limit.rlim_cur {
            var raised = limit
            raised.rlim_cur = target
            if (try? Posix.call("setrlimit", { setrlimit(resource, &raised) })) != nil { limit = raised }
        }
        return (Int(clamping: limit.rlim_cur), Int(clamping: limit.rlim_max))
    }

    /// Sends one datagram to the Unix socket at `path`, with `fds` attached (`SCM_RIGHTS`);
    /// `@name` is the abstract name `\0name`. Returns false if it could not be sent.
    static func sendDatagram(_ text: String, fds: [Int32] = [], to path: String) -> Bool {
        guard let fd = try? Posix.call("socket", { socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }) else { return false }
        defer { Posix.close(fd) }
        var payload = Array(text.utf8)
        var control = [UInt8](repeating: 0, count: fds.isEmpty ? 0 : clinux_cmsg_space_fds(Int32(fds.count)))
        if !fds.isEmpty { fds.withUnsafeBufferPointer { clinux_cmsg_put_fds(&control, $0.baseAddress, Int32($0.count)) } }
        let sent = try? Posix.withUnixAddress(path) { (address, length) throws(SystemCallError) in
            let result = payload.withUnsafeMutableBytes { buffer in
                control.withUnsafeMutableBytes { controlBuffer in
                    var vector = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
                    return withUnsafeMutablePointer(to: &vector) { vector in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(mutating: address)
                        message.msg_namelen = length
                        message.msg_iov = vector
                        message.msg_iovlen = 1
                        if !fds.isEmpty {
                            message.msg_control = controlBuffer.baseAddress
                            message.msg_controllen = controlBuffer.count
                        }
                        return Result { () throws(SystemCallError) in
                            try Posix.count("sendmsg \(path)") { sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
                        }
                    }
                }
            }
            return try result.get()
        }
        return sent == payload.count
    }

    /// Removes `name` from this process's environment, so children do not inherit it.
    static func unsetEnvironment(_ name: String) {
        unsetenv(name)
    }

    /// This process's id.
    static var processID: Int32 { getpid() }

}
