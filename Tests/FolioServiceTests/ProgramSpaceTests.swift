import FolioMemory
import FolioProtocol
import FolioSharedMemory
@testable import FolioService
import Foundation
import Migration
import Synchronization
import SystemCalls
import SystemPackage
import Testing

/// Program spaces (PROTOCOL.md §10) against the real server on a real socket, with a runtime
/// written here: the daemon's half of a migration without pins, its timeouts and its ends.
@Suite(.serialized)
struct ProgramSpaceTests {
    /// A server over two tiers of 8 MiB, its pipeline at hand for the timeout.
    final class Served {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("folio-program-\(UUID().uuidString.prefix(8))").path
        let core = MigrationCore()
        let server: FolioServer
        var socket: String { directory + "/s.sock" }
        private var nextID: UInt32 = 1

        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let tiers = ["fast", "slow"].enumerated().map { Tier(spec: TierSpec(name: $1, sizeBytes: 8 << 20), index: $0) }
            server = try FolioServer(listener: .bind(directory + "/s.sock"), core: core, tiers: tiers, policy: AccessPolicy(groupID: nil))
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        func connect() throws -> SeqpacketSocket { try SeqpacketSocket.connect(path: socket, timeout: .seconds(5)) }

        /// What an attached reply's descriptors map: the folio table and each tier.
        struct Mapped {
            var table: UnsafeMutableRawPointer?
            var tiers: [UnsafeMutableRawPointer] = []

            /// Every byte of `handle`'s folio, where the table says it is, reads `handle + 1`.
            func holds(_ handle: UInt32) -> Bool {
                guard let table else { return false }
                let (tier, offset) = FolioEntry(table: table, handle: Int(handle)).placement
                return UnsafeRawBufferPointer(start: tiers[tier] + offset, count: 4096).allSatisfy { $0 == UInt8(handle + 1) }
            }

            func tier(of handle: UInt32) -> Int? { table.map { FolioEntry(table: $0, handle: Int(handle)).tier } }

            func fill(_ handles: [UInt32]) {
                for handle in handles { (tiers[0] + Int(handle) * 4096).initializeMemory(as: UInt8.self, repeating: UInt8(handle + 1), count: 4096) }
            }
        }

        /// Sends `request` and returns the reply, with what its descriptors map.
        func request(_ request: Request, on connection: SeqpacketSocket) throws -> (reply: Reply, mapped: Mapped) {
            defer { nextID += 1 }
            try connection.send(request.encode(requestID: nextID))
            let received = try #require(try connection.receive())
            var mapped = Mapped()
            if received.fds.count == 4 {
                mapped.table = try SharedMemory.mapShared(FileDescriptor(rawValue: received.fds[0]), length: FolioTableLayout.tableBytes)
                mapped.tiers = try received.fds.dropFirst(2).map { try SharedMemory.mapShared(FileDescriptor(rawValue: $0), length: 8 << 20) }
            }
            received.fds.forEach { try? FileDescriptor(rawValue: $0).close() }
            return (try Reply.decode(received.bytes).reply, mapped)
        }

        func attach(_ name: String, _ features: AttachFeatures, on connection: SeqpacketSocket) throws -> (reply: Reply, mapped: Mapped) {
            try request(.attach(name: name, features: features), on: connection)
        }

        /// A channel for program `name`, once the daemon has installed it (just after the
        /// attached reply).
        func channel(_ name: String) throws -> SeqpacketSocket {
            let channel = try connect()
            guard case .attached = try attach(name, .runtimeChannel, on: channel).reply else { throw Errno.invalidArgument }
            let deadline = ContinuousClock.now + .seconds(10)
            while server.registry.programs.first(where: { $0.name == name })?.space.runtime == nil && ContinuousClock.now < deadline { OSThread.sleep(microseconds: 1000) }
            return channel
        }

        func migrate(_ handles: [UInt32], to tier: UInt16, on connection: SeqpacketSocket) throws -> [FolioResult] {
            guard case .migrated(let outcome) = try request(.migrate(handles: handles, targetTier: tier, reason: .syscall), on: connection).reply else {
                Issue.record("no migrated reply")
                return []
            }
            return outcome.results
        }
    }

    /// A program's runtime on its channel, in a thread: it logs each call and answers as
    /// `answer` says (nil: no answer).
    final class Runtime: @unchecked Sendable {
        let channel: SeqpacketSocket
        let calls = Mutex<[RuntimeCall]>([])
        let answer: Mutex<@Sendable (RuntimeCall) -> RuntimeAnswer?>
        private let endedFlag = Atomic<Bool>(false)
        var ended: Bool { endedFlag.load(ordering: .sequentiallyConsistent) }

        init(channel: SeqpacketSocket, answer: @escaping @Sendable (RuntimeCall) -> RuntimeAnswer?) throws {
            self.channel = channel
            self.answer = Mutex(answer)
            try OSThread.spawn(name: "test-runtime") { [self] in serve() }
        }

        private func serve() {
            while let message = try? channel.receive(), !message.bytes.isEmpty {
                guard let (id, call) = try? RuntimeCall.decode(message.bytes) else { break }
                calls.withLock { $0.append(call) }
                if let reply = answer.withLock({ $0 })(call) { try? channel.send(reply.encode(callID: id)) }
            }
            endedFlag.store(true, ordering: .sequentiallyConsistent)
        }

        static func allMapped(_ call: RuntimeCall) -> RuntimeAnswer? {
            switch call {
            case .revoke, .restore: .revoked
            case .remap(let folios): .remapped(status: folios.map { _ in 0 })
            }
        }
    }

    private static func wait(until condition: () -> Bool) {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() && ContinuousClock.now < deadline { OSThread.sleep(microseconds: 1000) }
    }

    @Test func aProgramSpaceMovesOnlyThroughItsRuntime_revokeThenRemap_andRepointsWhatItMapped() throws {
        let served = try Served()
        let program = try served.connect()
        let (attached, mapped) = try served.attach("run/1", .mapsUnpinned, on: program)
        guard case .attached = attached else { Issue.record("attach: \(attached)"); return }
        #expect(try served.request(.allocate(tier: 0, order: 0, count: 4), on: program).reply == .allocated(handles: [0, 1, 2, 3]))
        mapped.fill([0, 1, 2, 3])
        // No channel yet: nothing can take write access away, so nothing moves.
        #expect(try served.migrate([0, 1], to: 1, on: program) == [.failed(.resourceBusy), .failed(.resourceBusy)])

        let channel = try served.channel("run/1")
        let runtime = try Runtime(channel: channel) { call in
            if case .remap(let folios) = call { return .remapped(status: folios.map { $0.handle == 1 ? -Errno.noMemory.rawValue : 0 }) }
            return .revoked
        }
        // An operator's session moves the program's folios; the runtime is asked first.
        let operatorSession = try served.connect()
        guard case .attached = try served.attach("run/1", [.marksWrites], on: operatorSession).reply else { Issue.record("operator attach"); return }
        #expect(try served.migrate([0, 1, 2, 3], to: 1, on: operatorSession) == [.tier(1), .failed(.noMemory), .tier(1), .tier(1)])
        let calls = runtime.calls.withLock { $0 }
        #expect(calls.first == .revoke(handles: [0, 1, 2, 3]))
        guard calls.count == 2, case .remap(let folios) = calls[1] else { Issue.record("calls: \(calls)"); return }
        #expect(folios.map(\.handle) == [0, 1, 2, 3])
        #expect(folios.allSatisfy { $0.location >> 56 == 1 }, "every destination is in slow")
        // What the runtime mapped moved with its bytes; what it refused stayed, bytes and all.
        #expect([0, 1, 2, 3].map { mapped.tier(of: $0) } == [1, 0, 1, 1])
        for handle: UInt32 in 0...3 { #expect(mapped.holds(handle), "handle \(handle)") }
    }

    @Test func aRuntimeThatDoesNotAnswer_costsABatchTheTimeout_andGetsItsWritesBackWhenItWakes() throws {
        let served = try Served()
        served.core.pipeline.revokeTimeoutMilliseconds = 100
        let program = try served.connect()
        let (_, mapped) = try served.attach("run/2", .mapsUnpinned, on: program)
        _ = try served.request(.allocate(tier: 0, order: 0, count: 2), on: program)
        mapped.fill([0, 1])
        let channel = try served.channel("run/2")
        let stopped = Atomic<Bool>(true)
        let runtime = try Runtime(channel: channel) { call in stopped.load(ordering: .relaxed) ? nil : Runtime.allMapped(call) }
        let start = ContinuousClock.now
        #expect(try served.migrate([0, 1], to: 1, on: program) == [.failed(.resourceBusy), .failed(.resourceBusy)])
        #expect(ContinuousClock.now - start < .seconds(5))
        // The revoke, then a remap of each folio to where it is: writes come back once it wakes.
        Self.wait { runtime.calls.withLock { $0.count } == 2 }
        let calls = runtime.calls.withLock { $0 }
        #expect(calls.first == .revoke(handles: [0, 1]))
        let restored = calls.count == 2 ? calls[1] : nil
        #expect(restored == .restore(handles: [0, 1]), "a restore maps nothing: the handles may be freed and reused by then")
        // Unresponsive now: the next batch does not wait, and asks nothing.
        #expect(try served.migrate([0], to: 1, on: program) == [.failed(.resourceBusy)])
        #expect(runtime.calls.withLock { $0.count } == 2)
        // Once it answers anything, it is asked again, and the folios move.
        stopped.store(false, ordering: .relaxed)
        try channel.send(RuntimeAnswer.revoked.encode(callID: 999))
        Self.wait { served.server.registry.programs.first?.space.runtime?.isResponsive == true }
        #expect(try served.migrate([0, 1], to: 1, on: program) == [.tier(1), .tier(1)])
        #expect(mapped.holds(0) && mapped.holds(1))
    }

    @Test func aRemapNotAnsweredInTime_endsTheChannel_andKeepsBothBlocksUntilTheFolioIsFreed() throws {
        let served = try Served()
        served.core.pipeline.revokeTimeoutMilliseconds = 100
        let program = try served.connect()
        let (_, mapped) = try served.attach("run/3", .mapsUnpinned, on: program)
        _ = try served.request(.allocate(tier: 0, order: 0, count: 1), on: program)
        mapped.fill([0])
        let channel = try served.channel("run/3")
        let runtime = try Runtime(channel: channel) { call in
            if case .revoke = call { return .revoked }
            return nil
        }
        #expect(try served.migrate([0], to: 1, on: program) == [.failed(.resourceBusy)])
        Self.wait { runtime.ended }
        #expect(runtime.ended, "the daemon closed the channel")
        // The table still says fast, and the folio stays put: the program may map either block.
        #expect(mapped.tier(of: 0) == 0 && mapped.holds(0))
        let slow = served.server.registry.tiers[1]
        #expect(slow.freeBytes == (8 << 20) - 4096, "the destination is kept")
        #expect(try served.migrate([0], to: 1, on: program) == [.failed(.resourceBusy)])
        #expect(try served.request(.free(handles: [0]), on: program).reply == .freed(status: [nil]))
        #expect(slow.freeBytes == 8 << 20, "freed with the folio")
    }

    @Test func programSpaces_endWithTheirLastSession_andTheirNamesFollowTheRules() throws {
        let served = try Served()
        let registry = served.server.registry
        var program: SeqpacketSocket? = try served.connect()
        guard case .attached = try served.attach("run/4", .mapsUnpinned, on: program!).reply else { Issue.record("attach"); return }
        #expect(try served.attach("run/4", .mapsUnpinned, on: try served.connect()).reply == .error(errno: Errno.fileExists.rawValue, message: "attach"))
        #expect(try served.attach("", .mapsUnpinned, on: try served.connect()).reply == .error(errno: Errno.invalidArgument.rawValue, message: "attach"))
        #expect(try served.attach("run/none", .runtimeChannel, on: try served.connect()).reply == .error(errno: Errno.noSuchFileOrDirectory.rawValue, message: "attach"))
        _ = try served.attach("plain", [.marksWrites], on: try served.connect())
        #expect(try served.attach("plain", .runtimeChannel, on: try served.connect()).reply == .error(errno: Errno.invalidArgument.rawValue, message: "attach"))
        // The runtime is installed once its reply is out; a second channel is refused.
        var channel: SeqpacketSocket? = try served.channel("run/4")
        #expect(registry.programs.first?.space.runtime != nil)
        #expect(try served.attach("run/4", .runtimeChannel, on: try served.connect()).reply == .error(errno: Errno.resourceBusy.rawValue, message: "attach"))
        _ = try served.request(.allocate(tier: 0, order: 0, count: 8), on: program!)
        #expect(registry.programs.map(\.name) == ["run/4"])
        #expect(registry.tiers[0].freeBytes == (8 << 20) - 8 * 4096)
        program?.close()
        program = nil
        channel?.close()
        channel = nil
        Self.wait { registry.programs.isEmpty }
        #expect(registry.programs.isEmpty)
        #expect(registry.tiers[0].freeBytes == 8 << 20, "the program's folios are freed")
        guard case .attached = try served.attach("run/4", .mapsUnpinned, on: try served.connect()).reply else { Issue.record("the name is free again"); return }
    }

    @Test func aRemapStatusOutsideTheErrnos_endsTheChannel_insteadOfTrappingOrMisreporting() throws {
        for bad: Int32 in [Int32.min, 3] {
            let served = try Served()
            let program = try served.connect()
            let (_, mapped) = try served.attach("run/5", .mapsUnpinned, on: program)
            _ = try served.request(.allocate(tier: 0, order: 0, count: 1), on: program)
            mapped.fill([0])
            let runtime = try Runtime(channel: try served.channel("run/5")) { call in
                if case .remap = call { return .remapped(status: [bad]) }
                return .revoked
            }
            #expect(try served.migrate([0], to: 1, on: program) == [.failed(.resourceBusy)], "status \(bad)")
            Self.wait { runtime.ended }
            #expect(runtime.ended, "status \(bad) ends the channel")
            #expect(mapped.tier(of: 0) == 0 && mapped.holds(0))
            // And a program's space cannot be destroyed under it.
            #expect(try served.request(.destroy, on: program).reply == .error(errno: Errno.resourceBusy.rawValue, message: "destroy"))
        }
    }
}
