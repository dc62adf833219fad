import FolioClient
import FolioProtocol
import TestSupport
import Foundation
import Synchronization
import Testing

/// SIGTERM lets the batch in flight finish and answers its client before the daemon goes.
@Suite(.serialized)
struct ShutdownTests {
    @Test func sigterm_duringALongMigration_answersInFullAndLeavesNothingBehind() throws {
        let daemon = try RunningDaemon(tierBytes: 512 << 20)
        #expect(daemon.waitUntilServing())
        let client = try daemon.client()
        let handles = try (0..<4).flatMap { _ in try client.allocate(tier: 0, order: 0, count: 16384) }
        for handle in handles.prefix(64) { try client.withPinnedFolio(handle) { $0.initializeMemory(as: UInt8.self, repeating: UInt8(handle.index % 251)) } }
        let reply = Mutex<[FolioResult]?>(nil)
        let migrating = Atomic<Bool>(false)
        let thread = Thread {
            migrating.store(true, ordering: .releasing)
            reply.withLock { $0 = try? client.migrate(Array(handles.prefix(16384)), to: 1).results }
        }
        thread.start()
        while !migrating.load(ordering: .acquiring) { usleep(1000) }
        usleep(30_000)
        let status = daemon.terminate()
        for _ in 0..<500 where reply.withLock({ $0 }) == nil { usleep(10_000) }
        #expect(reply.withLock { $0 } == Array(repeating: .tier(1), count: 16384))
        #expect(status == 0)
        #expect(!daemon.isMounted)
        #expect(!FileManager.default.fileExists(atPath: daemon.socket))
        for handle in handles.prefix(64) {
            #expect(try client.withPinnedFolio(handle) { $0.allSatisfy { $0 == UInt8(handle.index % 251) } })
        }
    }
}
