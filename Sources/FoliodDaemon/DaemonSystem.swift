import Glibc
import SystemPackage

/// The daemon's own system calls, each wrapped once: signal masks and the datagram socket the
/// systemd notify protocol speaks. The only file of this target that imports Glibc.
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

    /// Sleeps for `duration` (the heartbeat's interval).
    static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && Glibc.errno == EINTR { request = remaining }
    }

    /// Raises the soft `RLIMIT_NOFILE` to `wanted`, or as near as the hard limit allows (it never
    /// lowers it). Returns the soft and hard limits now in force.
    static func raiseFileLimit(to wanted: Int) -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (0, 0) }
        let target = min(rlim_t(max(wanted, 0)), limit.rlim_max)
        if target > limit.rlim_cur {
            limit.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
        }
        return (Int(clamping: limit.rlim_cur), Int(clamping: limit.rlim_max))
    }

    /// Sends one datagram to the Unix socket at `path`; `@name` is the abstract name `\0name`.
    /// Returns false if it could not be sent.
    static func sendDatagram(_ text: String, to path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        // An abstract address is exactly as long as its name; a path one ends at its NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let payload = Array(text.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
            }
        }
        return sent == payload.count
    }

}
