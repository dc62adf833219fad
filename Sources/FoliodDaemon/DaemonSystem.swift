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

    /// Sends one datagram to the Unix socket at `path`; `@name` is the abstract name `\0name`.
    /// Returns false if it could not be sent.
    static func sendDatagram(_ text: String, to path: String) -> Bool {
        guard let fd = try? Posix.call("socket", { socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }) else { return false }
        defer { Posix.close(fd) }
        let payload = Array(text.utf8)
        let sent = try? Posix.withUnixAddress(path) { (address, length) throws(SystemCallError) in
            let result = payload.withUnsafeBytes { buffer in
                Result { () throws(SystemCallError) in
                    try Posix.count("sendto \(path)") { sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), address, length) }
                }
            }
            return try result.get()
        }
        return sent == payload.count
    }

}
