import FolioClient
import TestSupport
import Foundation
import Synchronization
import Testing

/// SIGKILL the daemon at random points while it migrates, many times: every folio's bytes are
/// still where the client's table points, read through the memfds the client holds. The moves
/// are promotions and demotions, so the daemon dies with shadows kept and while demotions are
/// repoints to them (transactional batches and shadows on, the defaults).
@Suite(.serialized)
struct CrashSafetyTests {
    static let rounds = 12

    /// A word of the pattern for `handle` in `round`.
    static func word(_ round: Int, _ handle: FolioHandle, _ index: Int) -> UInt64 {
        var z = UInt64(round &* 1_000_003 &+ handle.index) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index)
        z = (z ^ (z >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return z ^ (z >> 29)
    }

    @Test func sigkillMidBatch_losesNoFolio() throws {
        var generator = SystemRandomNumberGenerator()
        var damaged = 0
        var caughtMidBatch = 0
        var survived = 0
        var shadowHits: UInt64 = 0
        for round in 0..<Self.rounds {
            let daemon = try RunningDaemon(tierBytes: 64 << 20)
            let client = try daemon.client()
            let handles = try (0...9).flatMap { try client.allocate(tier: 0, order: $0, count: 2) } + client.allocate(tier: 0, order: 0, count: 64)
            for handle in handles {
                try client.withPinnedFolio(handle) { folio in
                    let words = folio.bindMemory(to: UInt64.self)
                    for index in words.indices { words[index] = Self.word(round, handle, index) }
                }
            }
            let migrating = Atomic<Bool>(true)
            let thread = Thread {
                var target = 1
                while (try? client.migrate(handles, to: target, reason: target == 0 ? .promotion : .demotion)) != nil { target = 1 - target }
                migrating.store(false, ordering: .releasing)
            }
            thread.start()
            usleep(UInt32.random(in: 5_000...60_000, using: &generator))
            let stats = try? FolioClient.stats(socketPath: daemon.socket)
            shadowHits += stats?.counters.first { $0.name == "tiering.shadow_hits" }?.value ?? 0
            kill(daemon.process.processIdentifier, SIGKILL)
            daemon.process.waitUntilExit()
            while migrating.load(ordering: .acquiring) { usleep(1000) }
            survived += 1
            caughtMidBatch += handles.contains { client.isMigrating($0) } ? 1 : 0
            for handle in handles {
                let intact = try client.withSalvagedFolio(handle) { folio in
                    let words = folio.bindMemory(to: UInt64.self)
                    return words.indices.allSatisfy { words[$0] == Self.word(round, handle, $0) }
                }
                if !intact { damaged += 1 }
            }
        }
        #expect(survived == Self.rounds)
        #expect(damaged == 0)
        // The demotions went to shadows: the repoint path was what the kills interrupted.
        #expect(shadowHits > 0)
        print("crash safety: \(survived) daemons killed, \(caughtMidBatch) mid-batch, \(shadowHits) shadow hits before the kills, \(damaged) folios damaged")
    }
}
