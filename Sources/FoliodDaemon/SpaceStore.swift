import FolioMemory
import FolioService
import FolioSharedMemory
import Logging
import SystemCalls
import SystemPackage

/// Keeps every named space in the service manager's fd store, so that a daemon restarted
/// after a crash, a watchdog kill or `systemctl restart` adopts it: under `space-ID-meta` a
/// small memfd naming the space, its owner and the tiers it was made for; under
/// `space-ID-table` its folio table; under `space-ID-tierN` each tier's memfd. Nothing else is
/// written beside them: the folio table is the state, so a crash cannot leave it stale.
final class SpaceStore: Sendable {
    private let notifier: SystemdNotifier
    private let tiers: [TierSpec]
    private let logger: Logger

    init(notifier: SystemdNotifier, tiers: [TierSpec], logger: Logger) {
        self.notifier = notifier
        self.tiers = tiers
        self.logger = logger
    }

    /// What the registry calls as named spaces come and go.
    var events: SpaceEvents {
        SpaceEvents(created: { [self] space in keep(space) }, destroyed: { [self] space in forget(id: space.id) })
    }

    /// Stores `space`'s memfds, if there is a store. A space that cannot be stored whole is
    /// taken out again and logged: it lives as long as this daemon, as outside systemd.
    func keep(_ space: AddressSpace) {
        guard notifier.isActive, let name = space.name else { return }
        let meta = Self.metadata(id: space.id, name: name, owner: space.owner, tiers: tiers)
        let stored: Bool
        do {
            let metaFD = try SharedMemory.anonymousFile(name: "foliod-\(space.id)-meta", bytes: meta.count)
            defer { try? metaFD.close() }
            _ = try metaFD.writeAll(toAbsoluteOffset: 0, meta)
            let fds = space.sharedFDs
            stored = notifier.store([metaFD.rawValue], name: "space-\(space.id)-meta")
                && notifier.store([fds[0].rawValue], name: "space-\(space.id)-table")
                && fds.dropFirst().enumerated().allSatisfy { notifier.store([$1.rawValue], name: "space-\(space.id)-tier\($0)") }
        } catch {
            stored = false
        }
        guard !stored else { return }
        forget(id: space.id)
        logger.warning("a named space could not be put in the fd store; it will not survive a restart", metadata: ["space": "\(name)", "id": "\(space.id)"])
    }

    /// Takes space `id` out of the store: a destroyed space must not come back.
    func forget(id: Int) {
        guard notifier.isActive else { return }
        for name in ["meta", "table"] + tiers.indices.map({ "tier\($0)" }) { notifier.removeStored(name: "space-\(id)-\(name)") }
    }

    /// The stored spaces among `passed` (taken out of it), and those that cannot be adopted
    /// with why: missing pieces, a metadata file that does not parse, other tiers.
    func stored(from passed: inout PassedDescriptors) -> (spaces: [StoredSpace], refused: [(id: Int, reason: String)]) {
        let pieces = passed.take { $0.hasPrefix("space-") }
        var byID: [Int: [String: FileDescriptor]] = [:]
        for (name, fd) in pieces {
            let parts = name.split(separator: "-", maxSplits: 2)
            guard parts.count == 3, let id = Int(parts[1]) else {
                Posix.close(fd)
                continue
            }
            byID[id, default: [:]][String(parts[2])] = FileDescriptor(rawValue: fd)
        }
        var spaces: [StoredSpace] = []
        var refused: [(id: Int, reason: String)] = []
        for (id, fds) in byID.sorted(by: { $0.key < $1.key }) {
            do throws(StoreProblem) {
                spaces.append(try space(id: id, fds))
            } catch {
                fds.values.forEach { try? $0.close() }
                refused.append((id, error.reason))
            }
        }
        return (spaces, refused)
    }

    private struct StoreProblem: Error {
        var reason: String
    }

    private func space(id: Int, _ fds: [String: FileDescriptor]) throws(StoreProblem) -> StoredSpace {
        guard let metaFD = fds["meta"], let table = fds["table"] else { throw StoreProblem(reason: "its metadata or folio table is missing") }
        let tierFDs = tiers.indices.compactMap { fds["tier\($0)"] }
        guard tierFDs.count == tiers.count else { throw StoreProblem(reason: "\(tierFDs.count) of \(tiers.count) tier memfds are stored") }
        let bytes = Posix.contents(of: metaFD, below: 65536)
        try? metaFD.close()
        guard let bytes else { throw StoreProblem(reason: "its metadata cannot be read") }
        guard let meta = Self.parse(String(decoding: bytes, as: UTF8.self)), meta.id == id else {
            throw StoreProblem(reason: "its metadata does not parse")
        }
        let configured = tiers.map { "\($0.name) \($0.sizeBytes)" }
        guard meta.tiers == configured else {
            throw StoreProblem(reason: "it was made for tiers [\(meta.tiers.joined(separator: ", "))], the config has [\(configured.joined(separator: ", "))]")
        }
        return StoredSpace(id: id, name: meta.name, owner: meta.owner, table: table, tiers: tierFDs)
    }

    /// The metadata file: a header line, then `key value` lines; the name in hex, since a
    /// space name may hold any UTF-8 but control characters.
    static func metadata(id: Int, name: String, owner: UInt32, tiers: [TierSpec]) -> [UInt8] {
        let hex = name.utf8.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        let lines = ["foliod space 1", "id \(id)", "owner \(owner)", "name \(hex)"] + tiers.map { "tier \($0.name) \($0.sizeBytes)" }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    static func parse(_ text: String) -> (id: Int, name: String, owner: UInt32, tiers: [String])? {
        let lines = text.split(separator: "\n")
        guard lines.first == "foliod space 1" else { return nil }
        var id: Int?
        var owner: UInt32?
        var name: String?
        var tiers: [String] = []
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            switch parts[0] {
            case "id": id = Int(parts[1])
            case "owner": owner = UInt32(parts[1])
            case "name": name = unhex(parts[1])
            case "tier": tiers.append(String(parts[1]))
            default: return nil
            }
        }
        guard let id, let owner, let name, !name.isEmpty else { return nil }
        return (id, name, owner, tiers)
    }

    private static func unhex(_ text: Substring) -> String? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
