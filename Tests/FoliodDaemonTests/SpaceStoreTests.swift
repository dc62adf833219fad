import CLinux
import FolioMemory
import FolioSharedMemory
import Glibc
import Logging
import Synchronization
import SystemCalls
import SystemPackage
import Testing
@testable import FoliodDaemon

/// The fd store without systemd: `$NOTIFY_SOCKET` is a datagram socket of the test's, which
/// receives what `SpaceStore` stores (and the descriptors with it); what it received is handed
/// back as a restarted daemon is given it. Serialized: the tests close descriptors by number,
/// and one test's close must not meet another's descriptor that took the number meanwhile
/// (`whatWasKept_comesBackFromTheStore` once read another file's inode in CI).
@Suite(.serialized)
struct SpaceStoreTests {
    static let specs = [TierSpec(name: "fast", sizeBytes: 8 << 20), TierSpec(name: "slow", sizeBytes: 4 << 20)]

    /// A datagram socket standing in for systemd's notify socket.
    final class FakeServiceManager {
        let path: String
        private let fd: Int32

        init() throws {
            path = "/tmp/foliod-spacestore-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            try #require(fd >= 0)
            _ = try Posix.withUnixAddress(path) { (address, length) throws(SystemCallError) in
                try Posix.call("bind \(path)") { bind(fd, address, length) }
            }
        }

        deinit {
            Glibc.close(fd)
            unlink(path)
        }

        /// The next datagram and the descriptors it carried, or nil when none comes within
        /// `timeoutMilliseconds`.
        func receive(timeoutMilliseconds: Int32 = 1000) -> (text: String, fds: [Int32])? {
            guard (try? Posix.poll(fd, events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)) ?? 0 != 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var control = [UInt8](repeating: 0, count: clinux_cmsg_space_fds(16))
            var fds = [Int32](repeating: -1, count: 16)
            let (count, received) = buffer.withUnsafeMutableBytes { bytes in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
                    return withUnsafeMutablePointer(to: &vector) { vector in
                        var message = msghdr()
                        message.msg_iov = vector
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        let count = recvmsg(fd, &message, Int32(MSG_CMSG_CLOEXEC))
                        return (count, count < 0 ? 0 : Int(clinux_cmsg_get_fds(&message, &fds, 16)))
                    }
                }
            }
            guard count >= 0 else { return nil }
            return (String(decoding: buffer.prefix(count), as: UTF8.self), Array(fds.prefix(received)))
        }

        /// Every datagram waiting (each one is sent before the call that sends it returns).
        func drain() -> [(text: String, fds: [Int32])] {
            var all: [(text: String, fds: [Int32])] = []
            while let next = receive(timeoutMilliseconds: 100) { all.append(next) }
            return all
        }
    }

    /// Log lines, kept.
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
    }

    static func store(socket path: String?, log: Lines = Lines(), tiers: [TierSpec] = specs) -> SpaceStore {
        let notifier = SystemdNotifier(environment: path.map { ["NOTIFY_SOCKET": $0] } ?? [:])
        return SpaceStore(notifier: notifier, tiers: tiers, logger: Logger(label: "test") { _ in LinesHandler(log: log) })
    }

    struct LinesHandler: LogHandler {
        let log: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel = Logger.Level.trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            log.lines.withLock { $0.append("\(event.level): \(event.message) \(fields)") }
        }
    }

    static func space(id: Int, name: String?, owner: UInt32 = 1000, specs: [TierSpec] = specs) throws -> AddressSpace {
        try AddressSpace(id: id, name: name, owner: owner, tiers: specs.enumerated().map { Tier(spec: $1, index: $0) })
    }

    static func inode(_ fd: Int32) -> UInt {
        var info = stat()
        return fstat(fd, &info) == 0 ? UInt(info.st_ino) : 0
    }

    static func memfd(_ text: String) throws -> Int32 {
        let bytes = Array(text.utf8)
        let fd = try SharedMemory.anonymousFile(name: "test-meta", bytes: bytes.count)
        _ = try fd.writeAll(toAbsoluteOffset: 0, bytes)
        return fd.rawValue
    }

    // MARK: metadata

    @Test(arguments: ["db", "a b", "a:b-c_d", "ä€😀", "x\u{7f}y", String(repeating: "n", count: 255)])
    func metadata_parsesBackToWhatWasWritten(name: String) throws {
        let text = String(decoding: SpaceStore.metadata(id: 42, name: name, owner: 65534, tiers: Self.specs), as: UTF8.self)
        let parsed = try #require(SpaceStore.parse(text))
        #expect(parsed.id == 42)
        #expect(parsed.name == name)
        #expect(parsed.owner == 65534)
        #expect(parsed.tiers == ["fast 8388608", "slow 4194304"])
    }

    @Test func metadata_isAHeaderThenKeyValueLinesWithTheNameInHex() {
        let text = String(decoding: SpaceStore.metadata(id: 7, name: "db\n1", owner: 1000, tiers: [Self.specs[0]]), as: UTF8.self)
        #expect(text == "foliod space 1\nid 7\nowner 1000\nname 64620a31\ntier fast 8388608\n")
    }

    @Test(arguments: [
        "",
        "foliod space 2\nid 1\nowner 0\nname 61\n",  // another version
        "id 1\nowner 0\nname 61\n",  // no header
        "foliod space 1\nowner 0\nname 61\n",  // no id
        "foliod space 1\nid 1\nname 61\n",  // no owner
        "foliod space 1\nid 1\nowner 0\n",  // no name
        "foliod space 1\nid 1\nowner 0\nname \n",  // an empty name
        "foliod space 1\nid x\nowner 0\nname 61\n",
        "foliod space 1\nid 1\nowner -1\nname 61\n",
        "foliod space 1\nid 1\nowner 4294967296\nname 61\n",
        "foliod space 1\nid 1\nowner 0\nname 616\n",  // odd hex
        "foliod space 1\nid 1\nowner 0\nname 6g\n",  // not hex
        "foliod space 1\nid 1\nowner 0\nname ff\n",  // not UTF-8
        "foliod space 1\nid 1\nowner 0\nname 61\ncolour blue\n",  // an unknown key
        "foliod space 1\nid 1\nowner 0\nname 61\ntier\n",  // a key without a value
    ])
    func parse_refusesAnythingElse(text: String) {
        #expect(SpaceStore.parse(text) == nil)
    }

    // MARK: the store, through a fake service manager

    @Test func keep_storesTheMetadataTheTableAndEachTierUnderTheSpacesNames() throws {
        let manager = try FakeServiceManager()
        let store = Self.store(socket: manager.path)
        let space = try Self.space(id: 5, name: "db")
        defer { space.destroy() }
        store.keep(space)
        let stored = manager.drain()
        defer { stored.flatMap(\.fds).forEach { Glibc.close($0) } }
        #expect(stored.map(\.text) == ["FDSTORE=1\nFDNAME=space-5-meta", "FDSTORE=1\nFDNAME=space-5-table", "FDSTORE=1\nFDNAME=space-5-tier0", "FDSTORE=1\nFDNAME=space-5-tier1"])
        #expect(stored.map(\.fds.count) == [1, 1, 1, 1])
        guard stored.count == 4 else { return }
        // The table and tiers are the space's own memfds, not copies.
        #expect(stored.dropFirst().map { Self.inode($0.fds[0]) } == space.sharedFDs.map { Self.inode($0.rawValue) })
    }

    @Test func keep_ofAnAnonymousSpaceOrWithoutAServiceManager_storesNothing() throws {
        let manager = try FakeServiceManager()
        let anonymous = try Self.space(id: 6, name: nil)
        defer { anonymous.destroy() }
        Self.store(socket: manager.path).keep(anonymous)
        #expect(manager.drain().isEmpty)
        let named = try Self.space(id: 7, name: "db")
        defer { named.destroy() }
        let log = Lines()
        Self.store(socket: nil, log: log).keep(named)
        Self.store(socket: nil, log: log).forget(id: 7)
        #expect(manager.drain().isEmpty)
        #expect(log.lines.withLock { $0 }.isEmpty, "outside systemd there is nothing to warn about")
    }

    @Test func keep_thatCannotStore_forgetsTheSpaceAndSaysSo() throws {
        let log = Lines()
        let space = try Self.space(id: 9, name: "lost")
        defer { space.destroy() }
        Self.store(socket: "/nonexistent/foliod-notify.sock", log: log).keep(space)
        #expect(log.lines.withLock { $0 } == ["warning: a named space could not be put in the fd store; it will not survive a restart id=9 space=lost"])
    }

    @Test func forget_removesEveryPieceOfTheSpace() throws {
        let manager = try FakeServiceManager()
        Self.store(socket: manager.path).forget(id: 12)
        #expect(manager.drain().map(\.text) == ["FDSTOREREMOVE=1\nFDNAME=space-12-meta", "FDSTOREREMOVE=1\nFDNAME=space-12-table",
                                                "FDSTOREREMOVE=1\nFDNAME=space-12-tier0", "FDSTOREREMOVE=1\nFDNAME=space-12-tier1"])
    }

    @Test func whatWasKept_comesBackFromTheStore() throws {
        let manager = try FakeServiceManager()
        let store = Self.store(socket: manager.path)
        let first = try Self.space(id: 3, name: "päge", owner: 1001)
        let second = try Self.space(id: 11, name: "db", owner: 0)
        defer { first.destroy(); second.destroy() }
        store.keep(second)
        store.keep(first)
        let received = manager.drain()
        try #require(received.count == 8 && received.allSatisfy { $0.fds.count == 1 })
        // Passed as a restarted daemon is given them, among descriptors that are no space's.
        let other = try Self.memfd("socket")
        defer { Glibc.close(other) }
        var passed = PassedDescriptors(named: [("foliod.socket", other)] + received.map { (String($0.text.split(separator: "=").last!), $0.fds[0]) })
        let (spaces, refused) = store.stored(from: &passed)
        defer { spaces.forEach { space in try? space.table.close(); space.tiers.forEach { try? $0.close() } } }
        #expect(refused.isEmpty)
        #expect(spaces.map(\.id) == [3, 11])
        #expect(spaces.map(\.name) == ["päge", "db"])
        #expect(spaces.map(\.owner) == [1001, 0])
        #expect(spaces.map { Self.inode($0.table.rawValue) } == [first, second].map { Self.inode($0.tableFD.rawValue) })
        #expect(spaces.map { $0.tiers.map { Self.inode($0.rawValue) } } == [first, second].map { $0.sharedFDs.dropFirst().map { Self.inode($0.rawValue) } })
        #expect(passed.named.map(\.name) == ["foliod.socket"], "what is no space's stays passed")
    }

    /// What a store holds that cannot be adopted, and the reason given for it.
    enum Damage: String, CaseIterable, Sendable {
        case noTable, noMeta, oneTierMissing, otherTiers, otherID, garbageMeta, hugeMeta
    }

    @Test(arguments: Damage.allCases)
    func aDamagedStore_isRefusedWithItsReason(damage: Damage) throws {
        let store = Self.store(socket: nil)
        let space = try Self.space(id: 4, name: "db")
        defer { space.destroy() }
        let fds = try space.sharedFDs.map { try $0.duplicate().rawValue }
        var meta = String(decoding: SpaceStore.metadata(id: 4, name: "db", owner: 1000, tiers: Self.specs), as: UTF8.self)
        switch damage {
        case .otherTiers: meta = String(decoding: SpaceStore.metadata(id: 4, name: "db", owner: 1000, tiers: [TierSpec(name: "fast", sizeBytes: 16 << 20)]), as: UTF8.self)
        case .otherID: meta = meta.replacingOccurrences(of: "id 4", with: "id 5")
        case .garbageMeta: meta = "not a metadata file\n"
        case .hugeMeta: meta = String(repeating: "x", count: 65536)
        default: break
        }
        var pieces = [("space-4-meta", try Self.memfd(meta)), ("space-4-table", fds[0]), ("space-4-tier0", fds[1]), ("space-4-tier1", fds[2])]
        if damage == .noTable { Glibc.close(pieces.remove(at: 1).1) }
        if damage == .noMeta { Glibc.close(pieces.remove(at: 0).1) }
        if damage == .oneTierMissing { Glibc.close(pieces.removeLast().1) }
        var passed = PassedDescriptors(named: pieces)
        let (spaces, refused) = store.stored(from: &passed)
        let reasons: [Damage: String] = [
            .noTable: "its metadata or folio table is missing",
            .noMeta: "its metadata or folio table is missing",
            .oneTierMissing: "1 of 2 tier memfds are stored",
            .otherTiers: "it was made for tiers [fast 16777216], the config has [fast 8388608, slow 4194304]",
            .otherID: "its metadata does not parse",
            .garbageMeta: "its metadata does not parse",
            .hugeMeta: "its metadata cannot be read",
        ]
        #expect(spaces.isEmpty)
        #expect(refused.map(\.id) == [4])
        #expect(refused.map(\.reason) == [reasons[damage]!])
        #expect(passed.named.isEmpty)
    }

    @Test func piecesWithoutASpaceNumber_areDroppedNotRefused() throws {
        let store = Self.store(socket: nil)
        let pieces = try ["space-x-meta", "space-7", "space--table"].map { ($0, try Self.memfd("x")) }
        var passed = PassedDescriptors(named: pieces)
        let (spaces, refused) = store.stored(from: &passed)
        #expect(spaces.isEmpty)
        #expect(refused.isEmpty)
        #expect(passed.named.isEmpty)
    }
}
