import Dispatch
import FolioMemory
import FolioProtocol
import Logging
import Migration
import Synchronization
import SystemCalls
import SystemPackage
import Tiering

/// The socket server: accepts clients on an OS thread and serves each admitted session on its
/// own, so a slow or stuck client never holds up another. A refused connection gets its error
/// at once and is closed on the accepting thread: refusals cost nothing that lasts.
///
/// Locking: `state` guards the lifecycle and the admitted sessions.
public final class FolioServer: Sendable {
    private enum Lifecycle {
        case serving
        case stopping
        case stopped
    }

    private struct State {
        var lifecycle = Lifecycle.serving
        var sessions: [ObjectIdentifier: Session] = [:]
    }

    /// Where the listening socket comes from.
    public enum Listener {
        /// Bind one at this path (mode 0660, group from the policy); a stale socket file is
        /// replaced, a live daemon's is EADDRINUSE, anything else at the path is refused. The
        /// file is removed on stop.
        case bind(String)
        /// One the service manager listens on (socket activation) at this path: it keeps
        /// listening while the daemon restarts, so the daemon never shuts it down or removes it.
        case inherited(SeqpacketSocket, path: String)
    }

    /// What adopting one stored space gave.
    public struct Adoption: Sendable {
        public var space: StoredSpace
        public var result: Result<AdoptionReport, SystemCallError>
    }

    /// The socket path.
    public let path: String
    /// The stored spaces this server was given, each adopted or refused.
    public let adoptions: [Adoption]
    private let listener: SeqpacketSocket
    private let ownsSocketFile: Bool
    // Written to on stop: wakes the accept thread without touching the listener, which under
    // socket activation is shared with the service manager and must stay listening.
    private let wake: (read: Int32, write: Int32)
    let registry: SpaceRegistry
    private let core: MigrationCore
    private let policy: AccessPolicy
    private let limits: ServiceLimits
    private let logger: Logger
    private let throttle = LogThrottle()
    private let state = Mutex(State())
    private let acceptorDone = DispatchSemaphore(value: 0)
    // Broadcast whenever a session leaves, so `stop` sleeps until the last one has, not in steps.
    private let sessionLeft = Condition()
    // A descriptor held in reserve: when the fd table is full, it is closed to accept one
    // waiting client, tell it EMFILE and close it, so clients get an answer instead of waiting
    // in the backlog for ever (libuv and nginx do the same).
    private let reserve = Mutex<FileDescriptor?>(nil)

    /// Serves on `listener`. The `restoring` spaces are adopted before the first connection is
    /// accepted (see `adoptions`); `events` hears of named spaces created and destroyed.
    public init(listener source: Listener, core: MigrationCore, tiers: [Tier], policy: AccessPolicy, limits: ServiceLimits = ServiceLimits(),
                events: SpaceEvents = .none, restoring: [StoredSpace] = [], tiering: TieringPolicy? = nil,
                logger: Logger = Logger(label: "foliod")) throws(SystemCallError) {
        self.core = core
        self.policy = policy
        self.limits = limits
        self.logger = logger
        registry = SpaceRegistry(tiers: tiers, limits: limits, events: events, tiering: tiering)
        adoptions = restoring.map { [registry] stored in
            Adoption(space: stored, result: Result { () throws(SystemCallError) in try registry.adopt(stored) })
        }
        switch source {
        case .bind(let path):
            self.path = path
            ownsSocketFile = true
            listener = try SeqpacketSocket.listen(path: path)
            do { try policy.secure(socketPath: path) } catch {
                listener.close()
                _ = try? Posix.unlink(path)
                throw SystemCallError(call: "\(error)", errno: .notPermitted)
            }
        case .inherited(let socket, let path):
            self.path = path
            ownsSocketFile = false
            listener = socket
        }
        do { wake = try Posix.pipe() } catch {
            listener.close()
            if ownsSocketFile { _ = try? Posix.unlink(path) }
            throw error
        }
        reserve.withLock { $0 = Self.openReserve() }
        // The policy's thread first: once the accept thread runs, clients are being served.
        do throws(Errno) { try tiering?.start() } catch {
            closeListener()
            throw SystemCallError(call: "starting the tiering thread", errno: error)
        }
        guard OSThread.trySpawn(name: "foliod-accept", { [self] in
            acceptLoop()
            acceptorDone.signal()
        }) else {
            tiering?.stop()
            closeListener()
            throw SystemCallError(call: "starting the accept thread", errno: .resourceTemporarilyUnavailable)
        }
    }

    /// How long `stop()` lets the requests in flight finish.
    public static let drainTimeout = Duration.seconds(10)

    /// Sessions being served now.
    public var sessionCount: Int { state.withLock { $0.sessions.count } }

    /// The stats reply's counters, as a client reads them (the metrics endpoint's source).
    public func stats() -> FolioStats { StatsReport.stats(core: core, registry: registry) }

    /// Stops accepting, lets each session answer the request it is serving (for at most
    /// `drainTimeout`), frees every space and removes the socket file. A second call returns
    /// at once.
    public func stop() {
        let first = state.withLock { state in
            guard state.lifecycle == .serving else { return false }
            state.lifecycle = .stopping
            return true
        }
        guard first else { return }
        // The accept thread first: until it sees the wake, a connection it takes is refused
        // (the daemon is stopping), so nothing slow may come before it.
        _ = try? FileDescriptor(rawValue: wake.write).writeAll([1])
        acceptorDone.wait()
        // The policy's pass in progress ends before the spaces it moves are freed below.
        registry.tiering?.stop()
        closeListener()
        Posix.close(wake.read)
        Posix.close(wake.write)
        reserve.withLock { reserve in
            try? reserve?.close()
            reserve = nil
        }
        for session in state.withLock({ Array($0.sessions.values) }) { session.stop() }
        let deadline = Condition.deadline(after: Self.drainTimeout)
        sessionLeft.lock()
        while sessionCount > 0 && sessionLeft.wait(until: deadline) {}
        sessionLeft.unlock()
        // A session still inside a batch keeps its space mapped; the process exit frees it.
        if sessionCount == 0 { registry.destroyAll() }
        state.withLock { $0.lifecycle = .stopped }
    }

    /// Accepts until `stop` writes to the wake pipe. Connections still in the backlog then stay
    /// there: under socket activation the next daemon accepts them.
    private func acceptLoop() {
        while true {
            let ready: [Bool]
            do { ready = try Posix.waitReadable([listener.fd, wake.read], timeoutMilliseconds: -1) } catch {
                // Never a reason to stop accepting; logged at most once a second, and no spin.
                warn("poll", "poll of the listening socket failed; retrying", error.errno)
                OSThread.sleep(microseconds: 10_000)
                continue
            }
            if ready[1] { return }
            guard ready[0] else { continue }
            let connection: SeqpacketSocket
            do { connection = try listener.accept() } catch {
                guard state.withLock({ $0.lifecycle == .serving }) else { return }
                acceptFailed(error.errno)
                continue
            }
            admitOrRefuse(connection)
        }
    }

    /// What a failed `accept` means. A full fd table: shed one waiting client with the reserve
    /// descriptor. A connection that died in the backlog: go on. Anything else (ENOMEM,
    /// ENOBUFS, …): log it and back off, never stop accepting.
    private func acceptFailed(_ errno: Errno) {
        switch errno {
        case .connectionAbort, .protocolError, .interrupted:
            return
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem:
            warn("accept-fds", "out of file descriptors: shedding a client with EMFILE", errno)
            if !shedOne(errno) { OSThread.sleep(microseconds: 10_000) }
        default:
            warn("accept", "accept failed; retrying", errno)
            OSThread.sleep(microseconds: 10_000)
        }
    }

    /// Closes the reserve fd, accepts one client, answers it `errno` and closes it again. With
    /// no reserve held (reopening it lost a race for the last slot), tries to take one back.
    private func shedOne(_ errno: Errno) -> Bool {
        reserve.withLock { reserve in
            guard let spare = reserve else {
                reserve = Self.openReserve()
                return false
            }
            try? spare.close()
            if let connection = try? listener.accept() {
                try? connection.send(Reply.error(errno: errno.rawValue, message: "the daemon is out of file descriptors").encode(requestID: 0))
                registry.counters.refused(errno)
                connection.close()
            }
            reserve = Self.openReserve()
            return true
        }
    }

    private func admitOrRefuse(_ connection: SeqpacketSocket) {
        // A client that hung up while waiting in the backlog is owed nothing: a session for it
        // would only cost a thread and fds to read its EOF.
        if connection.peerHungUp() {
            connection.close()
            return
        }
        let session: Session
        do { session = try Session(socket: connection, registry: registry, core: core, limits: limits) } catch {
            connection.close()
            return
        }
        if let refusal = admit(session) {
            refused(session, refusal)
            return
        }
        let started = OSThread.trySpawn(name: "foliod-session") { [self] in
            if let ending = session.serve() { ended(session, ending) }
            release(session)
        }
        if !started {
            release(session)
            refused(session, (.resourceTemporarilyUnavailable, "the daemon cannot start another thread"))
        }
    }

    /// Logs a session that ended for another reason than its client's close or a stop.
    private func ended(_ session: Session, _ ending: Session.Ending) {
        let (allowed, suppressed) = throttle.admit("ended")
        guard allowed else { return }
        let metadata: Logger.Metadata = ["pid": "\(session.peer.pid)", "uid": "\(session.peer.uid)", "suppressed": "\(suppressed)"]
        switch ending {
        case .idleBeforeAttach:
            logger.info("session closed: no attach within \(limits.attachTimeout)", metadata: metadata)
        case .replyUndelivered(let errno):
            logger.warning("session closed: a reply could not be sent: \(errno) (\(errno.name))", metadata: metadata)
        case .receiveFailed(let errno):
            logger.warning("session closed: receiving failed: \(errno) (\(errno.name))", metadata: metadata)
        }
    }

    private func refused(_ session: Session, _ reason: (Errno, String)) {
        session.refuse(reason)
        registry.counters.refused(reason.0)
        if throttle.admit("refused").allowed {
            logger.notice("connection refused: \(reason.1)", metadata: ["pid": "\(session.peer.pid)", "uid": "\(session.peer.uid)", "errno": "\(reason.0.name)"])
        }
    }

    /// Why `session` may not start (EACCES for a peer outside the policy, EUSERS past a session
    /// limit, ESHUTDOWN while stopping), or nil; an admitted session is counted at once.
    private func admit(_ session: Session) -> (Errno, String)? {
        guard policy.permits(uid: session.peer.uid, gid: session.peer.gid, groups: session.peerGroups) else { return (.permissionDenied, "not in the service's group") }
        return state.withLock { state in
            guard state.lifecycle == .serving else { return (.socketShutdown, "the daemon is stopping") }
            guard state.sessions.count < limits.sessions else { return (.tooManyUsers, "too many sessions (\(limits.sessions))") }
            let uid = session.peer.uid
            // Counted when asked: at most `sessions` entries, once per connection.
            guard state.sessions.values.count(where: { $0.peer.uid == uid }) < limits.sessionsPerUID else {
                return (.tooManyUsers, "too many sessions for uid \(uid) (\(limits.sessionsPerUID))")
            }
            state.sessions[ObjectIdentifier(session)] = session
            registry.counters.sessionStarted()
            return nil
        }
    }

    private func release(_ session: Session) {
        if state.withLock({ $0.sessions.removeValue(forKey: ObjectIdentifier(session)) }) != nil { registry.counters.sessionEnded() }
        // Under the condition's lock, so a `stop` between its count and its wait still hears it.
        sessionLeft.lock()
        sessionLeft.broadcast()
        sessionLeft.unlock()
    }

    private func warn(_ kind: String, _ message: Logger.Message, _ errno: Errno) {
        let (allowed, suppressed) = throttle.admit(kind)
        guard allowed else { return }
        logger.warning(message, metadata: ["errno": "\(errno.name)", "suppressed": "\(suppressed)"])
    }

    /// Closes this daemon's descriptor of the listener, and removes the socket file if this
    /// daemon made it (one already gone is fine).
    private func closeListener() {
        listener.close()
        if ownsSocketFile { _ = try? Posix.unlink(path) }
    }

    private static func openReserve() -> FileDescriptor? {
        try? FileDescriptor.open("/dev/null", .readOnly, options: .closeOnExec)
    }
}
