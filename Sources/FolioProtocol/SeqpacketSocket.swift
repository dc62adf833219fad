import CLinux
import Glibc
import Synchronization
import SystemCalls
import SystemPackage

/// A `SOCK_SEQPACKET` Unix socket: one message per `send`, fds passed with `SCM_RIGHTS`.
/// Every call is wrapped once here over `Posix.call`.
public final class SeqpacketSocket: Sendable {
    // Guarded so that `shutdown()` from another thread never races `close()` onto a
    // descriptor number the process has already reused.
    private let descriptor: Mutex<Int32>

    /// The descriptor; -1 once closed.
    public var fd: Int32 { descriptor.withLock { $0 } }

    // Allocated once per socket: a request must not cost a 128 KiB allocation (glibc serves
    // that size with mmap) or the page faults of a fresh buffer.
    private let sendBuffer = MessageBuffer()
    private let receiveBuffer = MessageBuffer()

    init(fd: Int32) { descriptor = Mutex(fd) }

    deinit { close() }

    /// A listening socket at `path` with `mode`. Only a socket that no daemon answers is
    /// replaced; anything else at the path is refused (see `SocketPath.inspect`).
    public static func listen(path: String, mode: mode_t = 0o660, backlog: Int32 = 128) throws(SystemCallError) -> SeqpacketSocket {
        if try SocketPath.inspect(path) == .staleSocket { try SocketPath.removeStale(path) }
        let socket = SeqpacketSocket(fd: try Posix.call("socket") { Glibc.socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) })
        try Posix.withUnixAddress(path) { (address, length) throws(SystemCallError) in
            _ = try Posix.call("bind \(path)") { bind(socket.fd, address, length) }
        }
        _ = try Posix.call("chmod \(path)") { chmod(path, mode) }
        _ = try Posix.call("listen") { Glibc.listen(socket.fd, backlog) }
        return socket
    }

    /// Takes over `fd`, a listening socket this process was given (socket activation). EINVAL
    /// unless it is a listening `AF_UNIX` `SOCK_SEQPACKET` socket.
    public static func inherited(fd: Int32) throws(SystemCallError) -> SeqpacketSocket {
        func option(_ name: Int32) throws(SystemCallError) -> Int32 {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            try Posix.call("getsockopt") { getsockopt(fd, SOL_SOCKET, name, &value, &length) }
            return value
        }
        guard try option(SO_DOMAIN) == AF_UNIX, try option(SO_TYPE) == Int32(SOCK_SEQPACKET.rawValue), try option(SO_ACCEPTCONN) == 1 else {
            throw SystemCallError(call: "descriptor \(fd) is not a listening AF_UNIX SOCK_SEQPACKET socket", errno: .invalidArgument)
        }
        guard Posix.setCloseOnExec(fd) else { throw SystemCallError(call: "fcntl(F_SETFD) of descriptor \(fd)", errno: .badFileDescriptor) }
        return SeqpacketSocket(fd: fd)
    }

    /// A connection to the daemon listening at `path`. With `timeout`, a connect that would
    /// wait longer for room in a full backlog fails with EAGAIN, and sends and receives on the
    /// socket are bounded by it too.
    public static func connect(path: String, timeout: Duration? = nil) throws(SystemCallError) -> SeqpacketSocket {
        let socket = SeqpacketSocket(fd: try Posix.call("socket") { Glibc.socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) })
        if let timeout { try socket.setTimeouts(receive: timeout, send: timeout) }
        try Posix.withUnixAddress(path) { (address, length) throws(SystemCallError) in
            _ = try Posix.call("connect \(path)") { Glibc.connect(socket.fd, address, length) }
        }
        return socket
    }

    /// The next connection; EINVAL once `shutdown()` was called.
    public func accept() throws(SystemCallError) -> SeqpacketSocket {
        SeqpacketSocket(fd: try Posix.call("accept") { clinux_accept_cloexec(fd) })
    }

    /// Sends one message with `fds` attached. One thread at a time may send on a socket. With
    /// `wait` false, EAGAIN when the peer's queue is full.
    public func send(_ bytes: [UInt8], fds: [Int32] = [], wait: Bool = true) throws(SystemCallError) {
        guard bytes.count <= MessageHeader.maxMessageBytes, fds.count <= MessageBuffer.maxFDs else {
            throw SystemCallError(call: "sendmsg", errno: .messageTooLong)
        }
        sendBuffer.payload.copyBytes(from: bytes)
        if !fds.isEmpty { fds.withUnsafeBufferPointer { clinux_cmsg_put_fds(sendBuffer.control, $0.baseAddress, Int32($0.count)) } }
        var message = sendBuffer.header(length: bytes.count, controlLength: fds.isEmpty ? 0 : clinux_cmsg_space_fds(Int32(fds.count)))
        _ = try Posix.call("sendmsg") { sendmsg(fd, &message, Int32(MSG_NOSIGNAL) | (wait ? 0 : Int32(MSG_DONTWAIT))) >= 0 ? 0 : -1 }
    }

    /// The next message and the fds that came with it; nil when the peer closed (or this side
    /// was shut down). A message larger than `MessageHeader.maxMessageBytes` is EMSGSIZE; a
    /// zero-length message is an empty array, told apart from end of file by asking whether
    /// the peer hung up. With `wait` false, EAGAIN when nothing is queued; with a receive
    /// timeout set, EAGAIN when it expires. One thread at a time may receive on a socket.
    public func receive(wait: Bool = true) throws(SystemCallError) -> (bytes: [UInt8], fds: [Int32])? {
        var message = receiveBuffer.header(length: receiveBuffer.payload.count, controlLength: receiveBuffer.controlBytes)
        var count = 0
        let flags = Int32(MSG_CMSG_CLOEXEC) | (wait ? 0 : Int32(MSG_DONTWAIT))
        _ = try Posix.call("recvmsg") {
            count = recvmsg(fd, &message, flags)
            return count >= 0 ? 0 : -1
        }
        var fds = [Int32](repeating: -1, count: MessageBuffer.maxFDs)
        let found = fds.withUnsafeMutableBufferPointer { Int(clinux_cmsg_get_fds(&message, $0.baseAddress, Int32($0.count))) }
        let received = Array(fds.prefix(min(found, MessageBuffer.maxFDs)))
        if message.msg_flags & Int32(MSG_TRUNC) != 0 {
            received.forEach { Posix.close($0) }
            throw SystemCallError(call: "recvmsg", errno: .messageTooLong)
        }
        if count == 0 && received.isEmpty && peerHungUp() { return nil }
        return (Array(receiveBuffer.payload.prefix(count)), received)
    }

    /// Whether the peer closed (or this side's read half was shut down): `recvmsg` returns 0
    /// for that and for a zero-length message alike.
    public func peerHungUp() -> Bool {
        guard let events = try? Posix.poll(fd, events: clinux_pollrdhup, timeoutMilliseconds: 0) else { return true }
        return events & (clinux_pollrdhup | Int16(POLLHUP | POLLERR | POLLNVAL)) != 0
    }

    /// Bounds how long `receive` and `send` block (nil: for ever), with `SO_RCVTIMEO` and
    /// `SO_SNDTIMEO`: past it they fail with EAGAIN.
    public func setTimeouts(receive: Duration?, send: Duration?) throws(SystemCallError) {
        for (option, duration) in [(SO_RCVTIMEO, receive), (SO_SNDTIMEO, send)] {
            let (seconds, attoseconds) = (duration ?? .zero).components
            var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
            _ = try Posix.call("setsockopt") { setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size)) }
        }
    }

    /// The peer's pid, uid and gid (`SO_PEERCRED`).
    public func peerCredentials() throws(SystemCallError) -> (pid: Int32, uid: UInt32, gid: UInt32) {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        _ = try Posix.call("getsockopt(SO_PEERCRED)") { clinux_peer_credentials(fd, &pid, &uid, &gid) }
        return (pid, uid, gid)
    }

    /// The peer process's supplementary groups (`SO_PEERGROUPS`), as they were when it
    /// connected.
    public func peerGroups() throws(SystemCallError) -> [UInt32] {
        var capacity: Int32 = 256
        while true {
            var groups = [UInt32](repeating: 0, count: Int(capacity))
            var count: Int32 = 0
            _ = try Posix.call("getsockopt(SO_PEERGROUPS)") {
                count = clinux_peer_groups(fd, &groups, capacity)
                return count
            }
            // More groups than room: the kernel filled nothing (ERANGE) and said how many
            // there are. Reading the unfilled buffer would make every such peer a member of
            // gid 0; ask again with room for all.
            if count <= capacity { return Array(groups.prefix(Int(count))) }
            capacity = count
        }
    }

    /// Wakes a thread blocked in `accept` or `receive` on this socket: they return at once.
    /// Sends still work, so a reply being prepared reaches the peer.
    public func shutdown() {
        descriptor.withLock { fd in
            if fd >= 0 { _ = try? Posix.shutdown(fd, Int32(SHUT_RD)) }
        }
    }

    /// Closes the descriptor (once).
    public func close() {
        descriptor.withLock { fd in
            if fd >= 0 { Posix.close(fd) }
            fd = -1
        }
    }

}

/// The memory one `sendmsg`/`recvmsg` uses: payload, control space for fds, and the iovec.
private final class MessageBuffer: @unchecked Sendable {
    /// The most fds one message carries: the attached reply's two tables and `maxTiers` tiers.
    static let maxFDs = maxTiers + 2

    let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: MessageHeader.maxMessageBytes, alignment: 8)
    let controlBytes = clinux_cmsg_space_fds(Int32(maxFDs))
    let control: UnsafeMutableRawPointer
    private let vector = UnsafeMutablePointer<iovec>.allocate(capacity: 1)

    init() {
        control = UnsafeMutableRawPointer.allocate(byteCount: controlBytes, alignment: 8)
    }

    deinit {
        payload.deallocate()
        control.deallocate()
        vector.deallocate()
    }

    /// A message header over the first `length` payload bytes and `controlLength` control bytes.
    func header(length: Int, controlLength: Int) -> msghdr {
        vector.pointee = iovec(iov_base: payload.baseAddress, iov_len: length)
        var message = msghdr()
        message.msg_iov = vector
        message.msg_iovlen = 1
        if controlLength > 0 {
            message.msg_control = control
            message.msg_controllen = controlLength
        }
        return message
    }
}
