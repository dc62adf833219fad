import FolioMemory
import FolioProtocol
@testable import FolioService
import Foundation
import Migration
import SystemCalls
import SystemPackage
import Testing

/// The socket server in this process, on a temporary socket: no daemon, no FUSE, no root.
/// What a client sends is answered message by message, and nothing it sends stops the server.
@Suite(.serialized)
struct FolioServerTests {
    /// A server over two small tiers, and a raw connection to it.
    final class Served {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("folio-server-\(UUID().uuidString.prefix(8))").path
        let server: FolioServer
        var socket: String { directory + "/s.sock" }

        init(limits: ServiceLimits = ServiceLimits()) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let tiers = ["fast", "slow"].enumerated().map { Tier(spec: TierSpec(name: $1, sizeBytes: 8 << 20), index: $0) }
            server = try FolioServer(listener: .bind(directory + "/s.sock"), core: MigrationCore(), tiers: tiers,
                                     policy: AccessPolicy(groupID: nil), limits: limits)
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Sends `message` on `connection` and decodes the reply.
        func roundTrip(_ message: [UInt8], on connection: SeqpacketSocket) throws -> (requestID: UInt32, reply: Reply) {
            try connection.send(message)
            let received = try #require(try connection.receive())
            return try Reply.decode(received.bytes)
        }
    }

    @Test func malformedMessages_getAnErrorReplyEach_andTheConnectionGoesOn() throws {
        let served = try Served()
        let connection = try SeqpacketSocket.connect(path: served.socket, timeout: .seconds(5))
        var wrongVersion = Request.stats.encode(requestID: 3)
        wrongVersion[4] = 9
        var unknownKind = Request.stats.encode(requestID: 4)
        unknownKind[6] = 0x7F
        let cases: [(bytes: [UInt8], errno: Errno, id: UInt32)] = [
            (Request.stats.encode(requestID: 2) + [0], .badMessage, 2),
            (wrongVersion, .protocolNotSupported, 3),
            (unknownKind, .notSupportedOnSocket, 4),
            (Request.allocate(tier: 0, order: 0, count: 1).encode(requestID: 5), .socketNotConnected, 5),
        ]
        for (bytes, errno, id) in cases {
            let (requestID, reply) = try served.roundTrip(bytes, on: connection)
            #expect(requestID == id)
            guard case .error(let code, _) = reply else { Issue.record("no error reply for \(errno.name)"); continue }
            #expect(code == errno.rawValue, "\(errno.name)")
        }
        // Still served: an attach and an allocation on the same connection.
        guard case .attached(_, let tiers) = try served.roundTrip(Request.attach(name: nil).encode(requestID: 6), on: connection).reply else {
            Issue.record("attach after the errors")
            return
        }
        #expect(tiers.map(\.name) == ["fast", "slow"])
        #expect(try served.roundTrip(Request.allocate(tier: 1, order: 0, count: 2).encode(requestID: 7), on: connection).reply == .allocated(handles: [0, 1]))
    }

    @Test func aSessionPastTheLimit_isRefusedWithEUSERS_andTheFirstIsStillServed() throws {
        var limits = ServiceLimits()
        limits.sessions = 1
        let served = try Served(limits: limits)
        let first = try SeqpacketSocket.connect(path: served.socket, timeout: .seconds(5))
        #expect(try served.roundTrip(Request.stats.encode(requestID: 1), on: first).requestID == 1)
        let second = try SeqpacketSocket.connect(path: served.socket, timeout: .seconds(5))
        let refusal = try #require(try second.receive())
        #expect(try Reply.decode(refusal.bytes).reply == .error(errno: Errno.tooManyUsers.rawValue, message: "too many sessions (1)"))
        guard case .stats = try served.roundTrip(Request.stats.encode(requestID: 2), on: first).reply else {
            Issue.record("the first session was not served after the refusal")
            return
        }
    }
}
