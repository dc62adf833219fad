import CFuse
import Glibc
import Synchronization
import Sysfs
import SystemCalls
import SystemPackage

/// The FUSE connection the tree is served over, read and written through foliod's own
/// `read` and `writev` (libfuse's custom I/O), so that the connection can outlive this
/// process: the kernel keeps a connection while any process holds its `/dev/fuse`
/// descriptor (the service manager's fd store does), queueing requests meanwhile.
///
/// A successor takes over such a connection without the kernel's INIT, which came once, to
/// the first daemon. It replays the INIT request the first daemon answered (kept in
/// `Handover` only once that answer was written) to its own libfuse session and swallows the
/// reply, so libfuse serves the connection as it would a new one; until then no other worker
/// reads the device. Node ids are fixed by path (`KnobNodes`) and unknown file handles open
/// afresh (`KnobFileSystem.file`). Then it asks the kernel to resend the requests its
/// predecessor read but never answered (`FUSE_NOTIFY_RESEND`, Linux 6.9) and wakes the
/// pollers its predecessor had armed (`FUSE_NOTIFY_POLL` for each poll handle armed on a file
/// still open: a spurious wake costs a poller one look). A first session checks, right after
/// INIT, that the kernel takes the resend (`handsOver`): without it a request read by a
/// killed daemon would wait for ever, so such a mount is not kept for a successor.
///
/// `@unchecked Sendable`: `session` is set once in `init` and used by the loop thread and
/// `stop`, which libfuse allows; the mutable state is in `transport`, under `initialized`'s
/// lock where readers wait for INIT.
final class KnobSession: @unchecked Sendable {
    /// What a successor needs to take the connection over: the INIT request the kernel sent
    /// and was answered, and the poll handles armed on files still open. Kept in a memfd
    /// beside the `/dev/fuse` descriptor.
    struct Handover: Equatable {
        var initRequest: [UInt8]
        var armedPollHandles: [UInt64]

        init(initRequest: [UInt8], armedPollHandles: [UInt64]) {
            self.initRequest = initRequest
            self.armedPollHandles = armedPollHandles
        }

        /// `u32` count, the handles as `u64`, then the INIT request; little-endian.
        func encoded() -> [UInt8] {
            var bytes = withUnsafeBytes(of: UInt32(armedPollHandles.count).littleEndian) { Array($0) }
            for handle in armedPollHandles { bytes += withUnsafeBytes(of: handle.littleEndian) { Array($0) } }
            return bytes + initRequest
        }

        /// nil unless `bytes` hold the handles and a whole INIT request.
        init?(decoding bytes: [UInt8]) {
            guard bytes.count >= 4 else { return nil }
            let count = Int(UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
            let start = 4 + 8 * count
            guard count < 1 << 20, bytes.count >= start + Int(cfuse_in_header_bytes) else { return nil }
            let request = Array(bytes[start...])
            let length = UInt32(littleEndian: request.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            let opcode = UInt32(littleEndian: request.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) })
            guard Int(length) == request.count, opcode == UInt32(cfuse_opcode_init) else { return nil }
            armedPollHandles = (0..<count).map { index in
                UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4 + 8 * index, as: UInt64.self) })
            }
            initRequest = request
        }
    }

    private struct Transport {
        /// The INIT to replay to libfuse before reading the device (a successor's first read).
        var replay: [UInt8]?
        /// Until the (replayed or the kernel's) INIT is answered, only its reader reads.
        var initAnswered = false
        /// The kernel's INIT while it waits for libfuse's answer: its bytes and unique id.
        var pendingInit: (request: [UInt8], unique: UInt64)?
        var handover: Handover?
        /// Poll handles armed (`FUSE_POLL_SCHEDULE_NOTIFY`) on open files, by file handle.
        var armed: [UInt64: UInt64] = [:]
        /// Whether the kernel took `FUSE_NOTIFY_RESEND` (nil until INIT was answered).
        var resends: Bool?
        var stopping = false
    }

    /// The unique id of the replayed INIT: even (odd ones are interrupts), and never one the
    /// kernel gives a request of its own before wrapping 2^64.
    static let replayedUnique: UInt64 = 0xFFFF_FFFF_FFFF_FFF0
    /// fuse_in_header opcodes besides INIT and POLL, and the poll flag, from the kernel's ABI.
    static let releaseOpcode: UInt32 = 18
    static let pollScheduleNotify: UInt32 = 1

    let fileSystem: KnobFileSystem
    let nodes: KnobNodes
    /// The `/dev/fuse` descriptor; the session closes it when destroyed.
    let device: FileDescriptor
    /// Where the handover is kept for a successor (nil when nothing outlives this process).
    private let handoverFile: FileDescriptor?
    // Guards `transport`; readers wait on it for INIT, `waitForInit` for its answer.
    private let initialized = Condition()
    private var transport: Transport
    // Written once to end every reader of the device: it stays readable.
    private let stopPipe: (read: Int32, write: Int32)
    private var session: OpaquePointer?

    /// A session over `device`; `adopting` is the predecessor's handover when the connection
    /// was initialized by another process.
    init(fileSystem: KnobFileSystem, device: FileDescriptor, handoverFile: FileDescriptor?, adopting: Handover?) throws(SystemCallError) {
        self.fileSystem = fileSystem
        nodes = KnobNodes(tree: fileSystem.tree)
        self.device = device
        self.handoverFile = handoverFile
        transport = Transport(replay: adopting.map { Self.replayed($0.initRequest) }, handover: adopting, resends: adopting == nil ? nil : true)
        stopPipe = try Posix.pipe()
        var operations = KnobOperations.table()
        var arguments = fuse_args(argc: 0, argv: nil, allocated: 0)
        defer { fuse_opt_free_args(&arguments) }
        fuse_opt_add_arg(&arguments, "foliod")
        guard let session = cfuse_session_new(&arguments, &operations, Unmanaged.passUnretained(self).toOpaque()) else {
            throw SystemCallError(call: "fuse_session_new", errno: .noMemory)
        }
        let result = cfuse_session_use_fd(session, device.rawValue, { fd, buffer, length, context in
            KnobSession.from(context).readRequest(fd, buffer, length)
        }, { fd, vectors, count, context in
            KnobSession.from(context).writeReply(fd, vectors, count)
        })
        guard result == 0 else {
            fuse_session_destroy(session)
            throw SystemCallError(call: "fuse_session_custom_io", errno: Errno(rawValue: -result))
        }
        self.session = session
    }

    deinit {
        if let session { fuse_session_destroy(session) }
        Posix.close(stopPipe.read)
        Posix.close(stopPipe.write)
    }

    /// Serves until `stop()`: libfuse's multi-threaded loop, on the calling thread.
    func serve() {
        guard let session else { return }
        _ = cfuse_session_loop_mt(session, 4)
    }

    /// Makes every reader of the device return, so the loop ends once the requests in hand
    /// are answered; requests not read yet stay queued in the kernel for a successor.
    func stop() {
        var byte: UInt8 = 1
        _ = Glibc.write(stopPipe.write, &byte, 1)
        locked { $0.stopping = true }
        initialized.broadcast()
    }

    /// Whether the connection can outlive this process: waits up to `timeout` for INIT to be
    /// answered, then tells whether the kernel takes `FUSE_NOTIFY_RESEND`.
    func handsOver(waitingAtMost timeout: Duration) -> Bool {
        let deadline = Condition.deadline(after: timeout)
        initialized.lock()
        defer { initialized.unlock() }
        while transport.resends == nil && !transport.stopping && initialized.wait(until: deadline) {}
        return transport.resends == true
    }

    private func locked<R>(_ body: (inout Transport) -> R) -> R {
        initialized.lock()
        defer { initialized.unlock() }
        return body(&transport)
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> KnobSession {
        // The session's user data is this object, alive until the loop has ended.
        Unmanaged<KnobSession>.fromOpaque(context!).takeUnretainedValue()
    }

    /// The predecessor's INIT with this session's unique id for it.
    private static func replayed(_ request: [UInt8]) -> [UInt8] {
        var bytes = request
        withUnsafeBytes(of: replayedUnique.littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
        return bytes
    }

    /// libfuse's read: the replayed INIT first; other readers wait until it is answered (a
    /// request queued meanwhile would meet a session not yet initialized: EIO); then the
    /// device, until `stop`.
    private func readRequest(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ length: Int) -> Int {
        guard let buffer else { Glibc.errno = EINVAL; return -1 }
        initialized.lock()
        if let replay = transport.replay {
            transport.replay = nil
            initialized.unlock()
            let count = min(replay.count, length)
            replay.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: count) }
            return count
        }
        while transport.handover != nil && !transport.initAnswered && !transport.stopping { initialized.wait() }
        initialized.unlock()
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0)]
        while Glibc.poll(&fds, 2, -1) < 0 {
            if Glibc.errno != EINTR { return -1 }
        }
        // Stopping: ENODEV is what libfuse's loop takes as the end of the connection.
        if fds[1].revents != 0 { Glibc.errno = ENODEV; return -1 }
        let count = Glibc.read(fd, buffer, length)
        if count >= Int(cfuse_in_header_bytes) { observe(UnsafeRawBufferPointer(start: buffer, count: count)) }
        return count
    }

    /// Notes what a successor needs: the kernel's INIT (kept once answered), and the poll
    /// handles armed on open files (a release forgets its file's).
    private func observe(_ request: UnsafeRawBufferPointer) {
        let header = Int(cfuse_in_header_bytes)
        let opcode = UInt32(littleEndian: request.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let word = { (offset: Int) in UInt64(littleEndian: request.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        switch opcode {
        case UInt32(cfuse_opcode_init):
            locked { $0.pendingInit = (Array(request), word(8)) }
        case UInt32(cfuse_opcode_poll) where request.count >= header + 24:
            // fuse_poll_in: fh, kh, flags, events.
            let flags = UInt32(littleEndian: request.loadUnaligned(fromByteOffset: header + 16, as: UInt32.self))
            guard flags & Self.pollScheduleNotify != 0 else { return }
            let (file, handle) = (word(header), word(header + 8))
            record { if $0.armed[file] != handle { $0.armed[file] = handle; return true }; return false }
        case Self.releaseOpcode where request.count >= header + 8:
            let file = word(header)
            record { $0.armed.removeValue(forKey: file) != nil }
        default:
            return
        }
    }

    /// Applies `change` and, when it says something changed, stores the handover anew.
    private func record(_ change: (inout Transport) -> Bool) {
        locked { state in
            guard change(&state), var handover = state.handover, let handoverFile else { return }
            handover.armedPollHandles = Array(state.armed.values).sorted()
            state.handover = handover
            let bytes = handover.encoded()
            _ = try? handoverFile.writeAll(toAbsoluteOffset: 0, bytes)
            _ = try? handoverFile.resize(to: Int64(bytes.count))
        }
    }

    /// libfuse's writev. The reply to the replayed INIT goes nowhere (the kernel asked
    /// nothing); once libfuse has taken it, the connection is this session's, and the kernel
    /// is asked for what the predecessor left unanswered. The reply to the kernel's own INIT
    /// makes the connection one a successor can take over.
    private func writeReply(_ fd: Int32, _ vectors: UnsafeMutablePointer<iovec>?, _ count: Int32) -> Int {
        guard let vectors, count > 0 else { Glibc.errno = EINVAL; return -1 }
        let total = (0..<Int(count)).reduce(0) { $0 + vectors[$1].iov_len }
        let unique = vectors[0].iov_len >= Int(cfuse_out_header_bytes)
            ? UInt64(littleEndian: vectors[0].iov_base!.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) : 0
        if unique == Self.replayedUnique {
            takeOver(fd)
            return total
        }
        let written = Glibc.writev(fd, vectors, count)
        if written >= 0, let pending = locked({ $0.pendingInit }), pending.unique == unique { initAnswered(pending.request, fd) }
        return written
    }

    /// The kernel's INIT was answered: keep it for a successor, and learn whether the kernel
    /// takes a resend (with nothing pending, asking changes nothing).
    private func initAnswered(_ request: [UInt8], _ fd: Int32) {
        let resends = Self.notify(fd, code: Int32(cfuse_notify_resend), payload: [])
        record { state in
            state.pendingInit = nil
            state.initAnswered = true
            state.resends = resends
            state.handover = Handover(initRequest: request, armedPollHandles: [])
            return true
        }
        initialized.broadcast()
    }

    private func takeOver(_ fd: Int32) {
        _ = Self.notify(fd, code: Int32(cfuse_notify_resend), payload: [])
        let armed = locked { state in
            state.initAnswered = true
            return state.handover?.armedPollHandles ?? []
        }
        initialized.broadcast()
        for handle in armed {
            _ = Self.notify(fd, code: Int32(cfuse_notify_poll), payload: withUnsafeBytes(of: handle.littleEndian) { Array($0) })
        }
    }

    /// Writes one notification: a fuse_out_header with unique 0 and the code in `error`.
    /// Returns whether the kernel took it (one that does not know the code says EINVAL).
    private static func notify(_ fd: Int32, code: Int32, payload: [UInt8]) -> Bool {
        var message = withUnsafeBytes(of: UInt32(Int(cfuse_out_header_bytes) + payload.count).littleEndian) { Array($0) }
        message += withUnsafeBytes(of: code.littleEndian) { Array($0) }
        message += [UInt8](repeating: 0, count: 8) + payload
        return message.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == message.count
    }
}
