import FolioClient
import FolioProtocol
import Foundation
import SystemPackage
import Testing
import TestSupport

/// The Swift client against the daemon's service core in this process (`InProcessDaemon`):
/// every request and its errors.
@Suite(.serialized)
struct FolioClientTests {
    @Test func aClient_allocatesPinsMigratesAndFrees() throws {
        let core = try InProcessDaemon()
        let client = try FolioClient(socketPath: core.socket)
        #expect(client.tiers.map(\.name) == ["fast", "slow"])
        let handles = try client.allocate(tier: 0, order: 2, count: 6)
        #expect(handles == (0..<6).map { FolioHandle(rawValue: $0) })
        for handle in handles { try client.withPinnedFolio(handle) { $0.initializeMemory(as: UInt8.self, repeating: UInt8(handle.index + 1)) } }
        let reply = try client.migrate(handles + [99], to: "slow", reason: .demotion)
        #expect(reply.results == Array(repeating: .tier(1), count: 6) + [.failed(.noSuchFileOrDirectory)])
        #expect(reply.batches == 2)  // batch_size 4: seven handles are two batches
        for handle in handles {
            #expect(client.tier(of: handle) == 1)
            #expect(try client.withPinnedFolio(handle) { $0.allSatisfy { $0 == UInt8(handle.index + 1) } })
        }
        let stats = try client.stats()
        #expect(stats.foliosMigrated == 6 && stats.batches == 2 && stats.migrator == "kernel")
        #expect(stats["tier.slow.free_bytes"] == client.tiers[1].sizeBytes - 6 * 16384)
        #expect(try client.free([0, 0, 99]) == [nil, .noSuchFileOrDirectory, .noSuchFileOrDirectory])
    }

    @Test func everyRequest_refusesBadArgumentsWithItsErrno() throws {
        let core = try InProcessDaemon()
        let client = try FolioClient(socketPath: core.socket)
        func errno(_ body: () throws -> Void) -> Errno? {
            do { try body() } catch let error as FolioClientError { return error.errno } catch { return nil }
            return nil
        }
        #expect(errno { _ = try client.allocate(tier: 2, order: 0, count: 1) } == .invalidArgument)
        #expect(errno { _ = try client.allocate(tier: 0, order: 10, count: 1) } == .invalidArgument)
        #expect(errno { _ = try client.allocate(tier: 0, order: 0, count: 0) } == .invalidArgument)
        #expect(errno { _ = try client.allocate(tier: 1, order: 9, count: 5) } == .noMemory)
        #expect(errno { _ = try client.migrate([], to: 1) } == .invalidArgument)
        #expect(errno { _ = try client.migrate([0, 0], to: 1) } == .invalidArgument)
        #expect(errno { _ = try client.migrate([0], to: 7) } == .invalidArgument)
                #expect(errno { _ = try client.free([]) } == .invalidArgument)
        #expect(errno { _ = try client.free((0...16384).map { FolioHandle(rawValue: $0) }) } == .invalidArgument)
        #expect(errno { try client.withPinnedFolio(5) { _ in } } == .noSuchFileOrDirectory)
        #expect(errno { _ = try client.tier(named: "warm") } == .noSuchFileOrDirectory)
        #expect(errno { _ = try client.allocate(tier: "warm", count: 1) } == .noSuchFileOrDirectory)
        #expect(try client.allocate(tier: 0, order: 0, count: 1) == [0])
    }

    @Test func namedSpaces_areSharedByTheirUid_andLimitedPerUid() throws {
        let core = try InProcessDaemon()
        let first = try FolioClient(socketPath: core.socket, space: "db")
        let handle = try first.allocate(tier: 0, order: 0, count: 1)[0]
        try first.withPinnedFolio(handle) { $0.storeBytes(of: 0xFEED_F00D, as: UInt32.self) }
        let second = try FolioClient(socketPath: core.socket, space: "db")
        #expect(second.spaceID == first.spaceID)
        #expect(try second.withPinnedFolio(handle) { $0.load(as: UInt32.self) } == 0xFEED_F00D)
        _ = try FolioClient(socketPath: core.socket, space: "cache")
        #expect(throws: FolioClientError(errno: .diskQuotaExceeded, message: "attach")) {
            _ = try FolioClient(socketPath: core.socket, space: "third")
        }
        try second.destroy()
        _ = try FolioClient(socketPath: core.socket, space: "third")
    }

    @Test func statsAttachNothing_andStopIsIdempotent() throws {
        let core = try InProcessDaemon()
        #expect(try FolioClient.stats(socketPath: core.socket).text.hasPrefix("migrator: kernel\nbatches: 0\n"))
        #expect(core.server.sessionCount == 0 || core.server.sessionCount == 1)
        core.server.stop()
        core.server.stop()
        #expect(!FileManager.default.fileExists(atPath: core.socket))
        #expect(throws: FolioClientError.self) { try FolioClient.stats(socketPath: core.socket) }
    }

    @Test func sessionsPerUID_refusesTheNextSessionOfThatUid_untilOneCloses() throws {
        let core = try InProcessDaemon(config: InProcessDaemon.defaultConfig.replacingOccurrences(of: "named_spaces_per_uid = 2", with: "sessions_per_uid = 2"))
        var held = [try FolioClient(socketPath: core.socket), try FolioClient(socketPath: core.socket)]
        #expect(throws: FolioClientError(errno: .tooManyUsers, message: "too many sessions for uid \(getuid()) (2)")) {
            _ = try FolioClient(socketPath: core.socket)
        }
        held.removeLast()
        // The daemon sees the close when its session thread reads EOF.
        var admitted: FolioClient?
        for _ in 0..<100 where admitted == nil {
            admitted = try? FolioClient(socketPath: core.socket)
            if admitted == nil { usleep(10_000) }
        }
        #expect(admitted != nil)
        #expect(held.count == 1)
    }
}
