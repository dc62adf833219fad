import FolioClient
import FolioProtocol
import Foundation
import SystemPackage
import TestSupport
import Testing

/// Thousands of hostile connections against a daemon under a low fd limit: idle ones, ones
/// past every limit, half-closed ones, ones that never read, and every malformed shape. The
/// daemon keeps accepting, answers a normal client at once afterwards, and gives back the
/// threads, fds and memory the flood took.
@Suite(.serialized)
struct FloodTests {
    /// The daemon's fd limit: far below what the flood opens at once.
    static let fileLimit = 128

    static let config = """
        [limits]
        sessions = 1000
        named_spaces_per_uid = 8
        attach_timeout_ms = 300
        reply_timeout_ms = 300
        """

    /// A connection, or nil when the daemon's backlog stays full for a second; every send and
    /// receive on it is bounded too, so a daemon that stopped accepting fails the test instead
    /// of hanging it.
    func connect(_ daemon: RunningDaemon) -> SeqpacketSocket? {
        try? SeqpacketSocket.connect(path: daemon.socket, timeout: .seconds(1))
    }

    /// Whether the daemon answers a stats request on a new connection within a second.
    func answersAtOnce(_ daemon: RunningDaemon) -> Bool {
        guard let socket = connect(daemon), (try? socket.send(Request.stats.encode(requestID: 1))) != nil,
              let reply = (try? socket.receive()).flatMap({ $0 }), case .stats? = try? Reply.decode(reply.bytes).reply else { return false }
        return true
    }

    /// Raises this process's soft fd limit to its hard limit: the flood holds ~1,000 sockets.
    func raiseOwnFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Polls `condition` for up to `seconds`.
    func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// Every malformed shape a message can take, one connection each.
    static let malformed: [(name: String, bytes: [UInt8])] = {
        var wrongVersion = Request.stats.encode(requestID: 1)
        wrongVersion[4] = 9
        let hostileNames: [[UInt8]] = [[0xFF], [0x61, 0x00, 0x62], [UInt8](repeating: 0x61, count: 300), [0x0A]]
        return [
            ("empty", []),
            ("garbage", Array("GET / HTTP/1.1\r\n\r\n".utf8)),
            ("truncated header", Array(Request.stats.encode(requestID: 1).prefix(9))),
            ("wrong version", wrongVersion),
            ("unknown kind", Array(Request.stats.encode(requestID: 1).enumerated().map { $0.offset == 6 ? 0x7F : $0.element })),
            ("trailing bytes", Request.stats.encode(requestID: 1) + [0]),
            ("request before attach", Request.allocate(tier: 0, order: 0, count: 1).encode(requestID: 1)),
        ] + hostileNames.map { ("attach with a hostile name", RawMessages.attach(rawName: $0)) }
    }()

    @Test func aFloodOfHostileConnections_leavesTheDaemonServingAndGivesEverythingBack() throws {
        raiseOwnFileLimit()
        let daemon = try RunningDaemon(extraConfig: Self.config, fileLimit: Self.fileLimit)
        // Warm up what a normal client touches, then take the baseline.
        _ = try daemon.client().allocate(tier: 0, order: 0, count: 1)
        _ = try daemon.client().stats()
        usleep(200_000)
        let before = daemon.footprint

        // 1,500 idle connections at once: far past the fd limit, so accept hits EMFILE.
        var idle: [SeqpacketSocket] = []
        // A daemon that keeps accepting never leaves a connect waiting a second on its backlog.
        for _ in 0..<1500 {
            guard let socket = connect(daemon) else { break }
            idle.append(socket)
        }
        #expect(idle.count == 1500, "every connect got through the backlog")
        let shed = idle.filter { socket in
            guard case .error(let code, _)? = (try? socket.receive(wait: false)).flatMap({ $0 }).flatMap({ try? Reply.decode($0.bytes).reply }) else { return false }
            return code == Errno.tooManyOpenFiles.rawValue
        }.count
        #expect(shed > 0, "some clients were told EMFILE instead of waiting in the backlog")
        // Admitted idle sessions time out before attach (ETIMEDOUT) and close.
        #expect(eventually(10) { daemon.footprint.fds <= before.fds + 4 })
        idle.forEach { $0.close() }
        try #require(eventually(5) { answersAtOnce(daemon) }, "the daemon still accepts after running out of fds")

        // Half-closed connections, and clients that send without ever reading.
        for _ in 0..<200 {
            guard let socket = connect(daemon) else { continue }
            _ = shutdown(socket.fd, Int32(SHUT_WR))
            socket.close()
        }
        var deaf: [SeqpacketSocket] = []
        for _ in 0..<20 {
            guard let socket = connect(daemon) else { continue }
            for id in 0..<2000 where (try? socket.send(Request.stats.encode(requestID: UInt32(id)))) == nil { break }
            deaf.append(socket)
        }

        // Every malformed shape, 100 connections each; each gets its error and goes on.
        var answered = 0
        for (_, bytes) in Self.malformed {
            for _ in 0..<100 {
                guard let socket = connect(daemon) else { continue }
                try? socket.send(bytes)
                if let reply = (try? socket.receive()).flatMap({ $0 }), case .error? = try? Reply.decode(reply.bytes).reply { answered += 1 }
                socket.close()
            }
        }
        #expect(answered >= Self.malformed.count * 90, "malformed messages get error replies")

        // Named spaces from one uid, each new: past named_spaces_per_uid, EDQUOT.
        var quota = 0
        try #require(answersAtOnce(daemon), "the daemon still answers before the named-space flood")
        for index in 0..<300 {
            do { _ = try daemon.client(space: "flood-\(index)") } catch let error as FolioClientError where error.errno == .diskQuotaExceeded { quota += 1 }
        }
        #expect(quota == 300 - 8)

        deaf.forEach { $0.close() }
        // A normal client is served at once.
        try #require(answersAtOnce(daemon), "a new client is answered within a second after the flood")
        #expect(try daemon.client().allocate(tier: 0, order: 0, count: 1) == [0])
        #expect(daemon.process.isRunning)

        // What stays by design: the eight named spaces, a table and two tier memfds each.
        let kept = 8 * 3
        let settled = eventually(10) {
            let now = daemon.footprint
            return now.threads <= before.threads + max(1, before.threads / 10) && now.fds <= before.fds + kept + max(1, before.fds / 10)
        }
        let after = daemon.footprint
        print("flood: \(shed) shed with EMFILE, \(answered) malformed answered, \(quota) EDQUOT; threads \(before.threads) → \(after.threads), fds \(before.fds) → \(after.fds), RSS \(before.residentBytes >> 10) → \(after.residentBytes >> 10) KiB")
        #expect(settled, "threads \(before.threads) → \(after.threads), fds \(before.fds) → \(after.fds)")
        // Memory: the eight named spaces remain (sparse, untouched); the rest is given back.
        #expect(Double(after.residentBytes) <= Double(before.residentBytes) * 1.10, "RSS \(before.residentBytes) → \(after.residentBytes)")
    }

    @Test func aClientThatNeverReadsItsReplies_losesItsSession_andTheLogSaysWhy() throws {
        let daemon = try RunningDaemon(extraConfig: Self.config)
        let socket = try #require(connect(daemon))
        // Requests keep coming, replies are never read: the daemon's send of one blocks once
        // the socket's buffer is full, and `reply_timeout_ms` (300 here) later it gives up.
        var sent = 0
        while sent < 5000, (try? socket.send(Request.stats.encode(requestID: UInt32(sent + 1)))) != nil { sent += 1 }
        #expect(eventually(10) { daemon.log.contains("session closed: a reply could not be sent") }, "\(sent) requests sent; log: \(daemon.log.suffix(400))")
        #expect(answersAtOnce(daemon))
    }

    @Test func refusedConnections_costNoThreadAndNoFd_evenWhileTheirClientsHoldThemOpen() throws {
        raiseOwnFileLimit()
        let daemon = try RunningDaemon(extraConfig: "[limits]\nsessions = 2\n")
        let before = daemon.footprint
        let admitted = try (0..<2).map { _ in try daemon.client() }
        var refused: [SeqpacketSocket] = []
        for _ in 0..<500 {
            guard let socket = connect(daemon) else { break }
            refused.append(socket)
        }
        #expect(refused.count == 500)
        usleep(300_000)
        let during = daemon.footprint
        // Each refused client finds why waiting for it, without sending anything first.
        let users = refused.filter { socket in
            guard let reply = (try? socket.receive(wait: false)).flatMap({ $0 }), case .error(let code, _)? = try? Reply.decode(reply.bytes).reply else { return false }
            return code == Errno.tooManyUsers.rawValue
        }.count
        #expect(users == 500)
        print("refused: threads \(before.threads) → \(during.threads), fds \(before.fds) → \(during.fds) with 2 sessions and 500 refused connections open")
        // Two sessions: a thread each, a socket, a pin table and an anonymous space each.
        #expect(during.threads <= before.threads + 2)
        #expect(during.fds <= before.fds + 2 * 5)
        refused.forEach { $0.close() }
        #expect(admitted.count == 2)
    }
}
