import FolioClient
import FolioProtocol
import Foundation
import SystemCalls
import SystemPackage
import Testing
import TestSupport

/// Malformed, truncated, oversized and out-of-order messages each get their error, and the
/// daemon keeps serving.
@Suite(.serialized)
struct BadInputTests {
    /// Sends raw bytes and returns the error reply's errno (nil for any other reply).
    func errno(after bytes: [UInt8], on socket: SeqpacketSocket) throws -> Errno? {
        try socket.send(bytes)
        let message = try #require(try socket.receive())
        message.fds.forEach { close($0) }
        guard case .error(let code, _) = try Reply.decode(message.bytes).reply else { return nil }
        return Errno(rawValue: code)
    }

    @Test func everyBadMessage_getsItsErrorAndTheConnectionGoesOn() throws {
        let daemon = try RunningDaemon()
        let socket = try SeqpacketSocket.connect(path: daemon.socket)
        #expect(try errno(after: Request.allocate(tier: 0, order: 0, count: 1).encode(requestID: 1), on: socket) == .socketNotConnected)
        #expect(try errno(after: Request.attach(name: nil).encode(requestID: 2), on: socket) == nil)
        #expect(try errno(after: Request.attach(name: nil).encode(requestID: 3), on: socket) == .socketIsConnected)
        #expect(try errno(after: Request.allocate(tier: 0, order: 10, count: 1).encode(requestID: 4), on: socket) == .invalidArgument)
        #expect(try errno(after: Request.allocate(tier: 5, order: 0, count: 1).encode(requestID: 5), on: socket) == .invalidArgument)
        #expect(try errno(after: Request.allocate(tier: 0, order: 0, count: 0).encode(requestID: 6), on: socket) == .invalidArgument)
        #expect(try errno(after: Request.migrate(handles: [], targetTier: 1, reason: .syscall).encode(requestID: 7), on: socket) == .invalidArgument)
        #expect(try errno(after: Request.free(handles: []).encode(requestID: 7), on: socket) == .invalidArgument)
        #expect(try errno(after: Request.migrate(handles: [0], targetTier: 9, reason: .syscall).encode(requestID: 8), on: socket) == .invalidArgument)
        // Reason 9 is no reason: byte 18 (after the header and the target tier) patched in.
        var unknownReason = Request.migrate(handles: [0], targetTier: 1, reason: .syscall).encode(requestID: 9)
        unknownReason[18] = 9
        #expect(try errno(after: unknownReason, on: socket) == .invalidArgument)
        let full = Request.free(handles: [1, 2, 3]).encode(requestID: 10)
        #expect(try errno(after: Array(full.dropLast(2)), on: socket) == .badMessage)
        var versioned = Request.stats.encode(requestID: 11)
        versioned[4] = 9
        #expect(try errno(after: versioned, on: socket) == .protocolNotSupported)
        #expect(try errno(after: Array("GET / HTTP/1.1\r\n\r\n".utf8), on: socket) == .badMessage)
        // Larger than any message: FolioProtocol refuses to send it, so it goes out raw.
        #expect(throws: SystemCallError.self) { try socket.send([UInt8](repeating: 0xFF, count: 200 << 10)) }
        let oversized = [UInt8](repeating: 0xFF, count: 200 << 10)
        #expect(oversized.withUnsafeBytes { Glibc.send(socket.fd, $0.baseAddress, $0.count, 0) } == oversized.count)
        let answer = try #require(try socket.receive())
        guard case .error(let code, _) = try Reply.decode(answer.bytes).reply else { Issue.record("no error reply"); return }
        #expect(Errno(rawValue: code) == .messageTooLong)
        #expect(try errno(after: Request.stats.encode(requestID: 12), on: socket) == nil)
    }

    @Test func aZeroLengthMessage_getsEBADMSGAndTheSessionGoesOn() throws {
        let daemon = try RunningDaemon()
        let socket = try SeqpacketSocket.connect(path: daemon.socket, timeout: .seconds(5))
        #expect(try errno(after: [], on: socket) == .badMessage)
        #expect(try errno(after: [], on: socket) == .badMessage)
        #expect(try errno(after: Request.attach(name: nil).encode(requestID: 1), on: socket) == nil)
    }

    @Test func spaceNames_areComparedAsBytes_andUncleanOnesAreEINVAL() throws {
        let daemon = try RunningDaemon()
        let socket = try SeqpacketSocket.connect(path: daemon.socket, timeout: .seconds(5))
        // Two byte strings that decode lossily to the same U+FFFD must not reach one space.
        for name in [[0xFF], [0xFE], [0x61, 0x00], [0x0A]] as [[UInt8]] {
            #expect(try errno(after: RawMessages.attach(rawName: name), on: socket) == .invalidArgument)
        }
        let owner = try daemon.client(space: "café")
        let handles = try owner.allocate(tier: 0, order: 0, count: 2)
        let decomposed = try daemon.client(space: "cafe\u{301}")
        #expect(try decomposed.free(handles) == [.noSuchFileOrDirectory, .noSuchFileOrDirectory])
        #expect(try owner.free(handles) == [nil, nil])
    }

    @Test func handlesOutOfRange_areENOENTPerFolio() throws {
        let daemon = try RunningDaemon()
        let client = try daemon.client()
        let mine = try client.allocate(tier: 0, order: 0, count: 1)
        #expect(try client.migrate(mine + [65535, 4_000_000], to: 1).results == [.tier(1), .failed(.noSuchFileOrDirectory), .failed(.noSuchFileOrDirectory)])
    }

    @Test func garbageFromManyConnections_neverTakesTheDaemonDown() throws {
        let daemon = try RunningDaemon()
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            let socket = try SeqpacketSocket.connect(path: daemon.socket)
            var bytes = (round % 3 == 0 ? Request.attach(name: nil).encode(requestID: 1) : Request.migrate(handles: [1, 2], targetTier: 1, reason: .syscall).encode(requestID: 1))
            for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            try? socket.send(bytes)
            if round % 2 == 0 { _ = try? socket.receive() }
        }
        #expect(try daemon.client().stats().migrator == "kernel")
        #expect(daemon.process.isRunning)
    }
}
