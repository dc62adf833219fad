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
/// the first daemon. It replays the INIT request the first daemon saw (kept in `Handover`)
/// to its own libfuse session and swallows the reply, so libfuse serves the connection
/// as it would a new one; node ids are fixed by path (`KnobNodes`) and unknown file handles
/// open afresh (`KnobFileSystem.file`). Then it asks the kernel to resend the requests its
/// predecessor read but never answered (`FUSE_NOTIFY_RESEND`, Linux 6.9) and wakes every
/// poller the predecessor had armed (`FUSE_NOTIFY_POLL` for each poll handle up to the
/// highest seen: a spurious wake costs a poller one look).
///
/// `@unchecked Sendable`: `session` is set once in `init` and used by the loop thread and
/// `stop`, which libfuse allows; the mutable state is in `transport`, under its lock.
final class KnobSession: @unchecked Sendable {
    /// What a successor needs to take the connection over: the INIT request and the highest
    /// poll handle the kernel gave out. Kept in a memfd beside the `/dev/fuse` descriptor.
    struct Handover: Equatable {
        var initRequest: [UInt8]
        var highestPollHandle: UInt64

        func encoded() -> [UInt8] {
            withUnsafeBytes(of: highestPollHandle.littleEndian) { Array($0) } + initRequest
        }

        init(initRequest: [UInt8], highestPollHandle: UInt64) {
            self.initRequest = initRequest
            self.highestPollHandle = highestPollHandle
        }

        /// nil unless `bytes` hold a poll handle and a whole INIT request.
        init?(decoding bytes: [UInt8]) {
            guard bytes.count >= 8 + Int(cfuse_in_header_bytes) else { return nil }
            let request = Array(bytes[8...])
            let length = request.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let opcode = request.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) }
            guard Int(UInt32(littleEndian: length)) == request.count, UInt32(littleEndian: opcode) == UInt32(cfuse_opcode_init) else { return nil }
            highestPollHandle = UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            initRequest = request
        }
    }

    private struct Transport {
        /// The INIT to replay to libfuse before reading the device (a successor's first read).
        var replay: [UInt8]?
        var handover: Handover?
    }

    /// The unique id of the replayed INIT: even (odd ones are interrupts), and never one the
    /// kernel gives a request of its own before wrapping 2^64.
    static let replayedUnique: UInt64 = 0xFFFF_FFFF_FFFF_FFF0

    let fileSystem: KnobFileSystem
    let nodes: KnobNodes
    /// The `/dev/fuse` descriptor; the session closes it when destroyed.
    let device: FileDescriptor
    /// Where the handover is kept for a successor (nil when nothing outlives this process).
    private let handoverFile: FileDescriptor?
    private let transport: Mutex<Transport>
    // Written once to end every reader of the device: it stays readable.
    private let stopPipe: (read: Int32, write: Int32)
    private var session: OpaquePointer!

    /// A session over `device`; `adopting` is the predecessor's handover when the connection
    /// was initialized by another process.
    init(fileSystem: KnobFileSystem, device: FileDescriptor, handoverFile: FileDescriptor?, adopting: Handover?) throws(SystemCallError) {
        self.fileSystem = fileSystem
        nodes = KnobNodes(tree: fileSystem.tree)
        self.device = device
        self.handoverFile = handoverFile
        transport = Mutex(Transport(replay: adopting.map { Self.replayed($0.initRequest) }, handover: adopting))
        stopPipe = try Posix.pipe()
        var operations = KnobOperations.table()
        var arguments = fuse_args(argc: 0, argv: nil, allocated: 0)
        defer { fuse_opt_free_args(&arguments) }
        fuse_opt_add_arg(&arguments, "foliod")
        guard let session = cfuse_session_new(&arguments, &operations, Unmanaged.passUnretained(self).toOpaque()) else {
            throw SystemCallError(call: "fuse_session_new", errno: .noMemory)
        }
        self.session = session
        let result = cfuse_session_use_fd(session, device.rawValue, { fd, buffer, length, context in
            KnobSession.from(context).readRequest(fd, buffer, length)
        }, { fd, vectors, count, context in
            KnobSession.from(context).writeReply(fd, vectors, count)
        })
        guard result == 0 else {
            fuse_session_destroy(session)
            throw SystemCallError(call: "fuse_session_custom_io", errno: Errno(rawValue: -result))
        }
    }

    deinit {
        fuse_session_destroy(session)
        Posix.close(stopPipe.read)
        Posix.close(stopPipe.write)
    }

    /// Serves until `stop()`: libfuse's multi-threaded loop, on the calling thread.
    func serve() {
        _ = cfuse_session_loop_mt(session, 4)
    }

    /// Makes every reader of the device return, so the loop ends once the requests in hand
    /// are answered; requests not read yet stay queued in the kernel for a successor.
    func stop() {
        var byte: UInt8 = 1
        _ = Glibc.write(stopPipe.write, &byte, 1)
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

    /// libfuse's read: the replayed INIT first, then the device, until `stop`.
    private func readRequest(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ length: Int) -> Int {
        guard let buffer else { Glibc.errno = EINVAL; return -1 }
        if let replay = transport.withLock({ state -> [UInt8]? in defer { state.replay = nil }; return state.replay }) {
            let count = min(replay.count, length)
            replay.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: count) }
            return count
        }
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

    /// Keeps what a successor needs: the INIT request, and each new highest poll handle.
    private func observe(_ request: UnsafeRawBufferPointer) {
        let opcode = UInt32(littleEndian: request.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        if opcode == UInt32(cfuse_opcode_init) {
            record { $0 = Handover(initRequest: Array(request), highestPollHandle: 0) }
        } else if opcode == UInt32(cfuse_opcode_poll), request.count >= Int(cfuse_in_header_bytes) + 16 {
            // fuse_poll_in: fh, then kh.
            let handle = UInt64(littleEndian: request.loadUnaligned(fromByteOffset: Int(cfuse_in_header_bytes) + 8, as: UInt64.self))
            record { handover in
                if handover != nil, handle > handover!.highestPollHandle { handover!.highestPollHandle = handle }
            }
        }
    }

    private func record(_ change: (inout Handover?) -> Void) {
        transport.withLock { state in
            let before = state.handover
            change(&state.handover)
            guard let handoverFile, let handover = state.handover, handover != before else { return }
            let bytes = handover.encoded()
            _ = try? handoverFile.writeAll(toAbsoluteOffset: 0, bytes)
            _ = try? handoverFile.resize(to: Int64(bytes.count))
        }
    }

    /// libfuse's writev: the reply to the replayed INIT goes nowhere (the kernel asked
    /// nothing); once libfuse has taken it, the connection is this session's, and the kernel
    /// is asked for what the predecessor left unanswered.
    private func writeReply(_ fd: Int32, _ vectors: UnsafeMutablePointer<iovec>?, _ count: Int32) -> Int {
        guard let vectors, count > 0 else { Glibc.errno = EINVAL; return -1 }
        let total = (0..<Int(count)).reduce(0) { $0 + vectors[$1].iov_len }
        if vectors[0].iov_len >= Int(cfuse_out_header_bytes),
           UInt64(littleEndian: vectors[0].iov_base!.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) == Self.replayedUnique {
            takeOver(fd)
            return total
        }
        return Glibc.writev(fd, vectors, count)
    }

    private func takeOver(_ fd: Int32) {
        Self.notify(fd, code: Int32(cfuse_notify_resend), payload: [])
        let highest = transport.withLock { $0.handover?.highestPollHandle ?? 0 }
        for handle in UInt64(1)...max(highest, 1) where highest > 0 {
            Self.notify(fd, code: Int32(cfuse_notify_poll), payload: withUnsafeBytes(of: handle.littleEndian) { Array($0) })
        }
    }

    /// Writes one notification: a fuse_out_header with unique 0 and the code in `error`. A
    /// kernel that does not know the code refuses it (EINVAL), which changes nothing.
    private static func notify(_ fd: Int32, code: Int32, payload: [UInt8]) {
        var message = withUnsafeBytes(of: UInt32(Int(cfuse_out_header_bytes) + payload.count).littleEndian) { Array($0) }
        message += withUnsafeBytes(of: code.littleEndian) { Array($0) }
        message += [UInt8](repeating: 0, count: 8) + payload
        _ = message.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
