import SystemPackage

/// One tier as a client sees it.
public struct TierInfo: Equatable, Sendable {
    public var name: String
    public var sizeBytes: UInt64

    public init(name: String, sizeBytes: UInt64) {
        self.name = name
        self.sizeBytes = sizeBytes
    }
}

/// The most tiers a daemon may have: the `attached` reply carries this many tier memfds plus
/// the folio table's and the pin table's, and a client sizes its `SCM_RIGHTS` space for that.
public let maxTiers = 64

/// What the daemon answers. `attached` comes with the table's and the tiers' memfds.
public enum Reply: Equatable, Sendable {
    case attached(spaceID: UInt32, tiers: [TierInfo])
    case allocated(handles: [UInt32])
    case freed(status: [Errno?])
    case migrated(MigrationOutcome)
    case stats(FolioStats)
    case destroyed
    /// The request failed as a whole.
    case error(errno: Int32, message: String)

    /// The header's `kind` of each reply, for encoding and decoding alike.
    enum Kind: UInt16 {
        case attached = 0x81
        case allocated = 0x82
        case freed = 0x83
        case migrated = 0x84
        case stats = 0x85
        case destroyed = 0x86
        case error = 0xFF
    }

    var kind: Kind {
        switch self {
        case .attached: .attached
        case .allocated: .allocated
        case .freed: .freed
        case .migrated: .migrated
        case .stats: .stats
        case .destroyed: .destroyed
        case .error: .error
        }
    }

    /// The whole message, header first.
    public func encode(requestID: UInt32) -> [UInt8] {
        var payload = WireWriter()
        switch self {
        case .attached(let spaceID, let tiers):
            payload.put(spaceID)
            payload.put(UInt16(tiers.count))
            for tier in tiers {
                payload.put(tier.name)
                payload.put(tier.sizeBytes)
            }
        case .allocated(let handles): payload.put(array: handles)
        // Per-folio outcomes become the wire's status words here, and only here.
        case .freed(let status): payload.put(array: status.map { -($0?.rawValue ?? 0) })
        case .migrated(let outcome):
            payload.put(outcome.unmapNanos)
            payload.put(outcome.copyNanos)
            payload.put(outcome.moveNanos)
            payload.put(UInt32(clamping: outcome.batches))
            payload.put(array: outcome.results.map(\.wire))
        case .stats(let stats):
            payload.put(stats.migrator)
            payload.put(UInt16(stats.counters.count))
            for counter in stats.counters {
                payload.put(counter.name)
                payload.put(counter.value)
            }
        case .destroyed: break
        case .error(let errno, let message):
            payload.put(errno)
            payload.put(message)
        }
        return frame(kind: kind.rawValue, requestID: requestID, payload: payload.bytes)
    }

    /// Decodes a reply; EBADMSG for anything malformed.
    public static func decode(_ bytes: [UInt8]) throws(Errno) -> (requestID: UInt32, reply: Reply) {
        var reader = WireReader(bytes)
        let header = try MessageHeader.decode(&reader, messageBytes: bytes.count)
        guard let kind = Kind(rawValue: header.kind) else { throw .badMessage }
        let reply: Reply
        switch kind {
        case .attached:
            let spaceID: UInt32 = try reader.get()
            let count = Int(try reader.get(UInt16.self))
            guard count <= maxTiers else { throw .badMessage }
            var tiers: [TierInfo] = []
            for _ in 0..<count { tiers.append(TierInfo(name: try reader.getString(), sizeBytes: try reader.get())) }
            reply = .attached(spaceID: spaceID, tiers: tiers)
        case .allocated: reply = .allocated(handles: try reader.getArray(limit: Request.maxHandles))
        case .freed:
            let words: [Int32] = try reader.getArray(limit: Request.maxHandles)
            reply = .freed(status: try words.map { (word) throws(Errno) -> Errno? in
                guard word != 0 else { return nil }
                guard case .failed(let errno)? = FolioResult(wire: word) else { throw .badMessage }
                return errno
            })
        case .migrated:
            let unmap: UInt64 = try reader.get()
            let copy: UInt64 = try reader.get()
            let move: UInt64 = try reader.get()
            let batches: UInt32 = try reader.get()
            let words: [Int32] = try reader.getArray(limit: Request.maxHandles)
            let results = words.compactMap(FolioResult.init(wire:))
            guard results.count == words.count else { throw .badMessage }
            reply = .migrated(MigrationOutcome(results: results, unmapNanos: unmap, copyNanos: copy, moveNanos: move, batches: Int(batches)))
        case .stats:
            let migrator = try reader.getString()
            let count = Int(try reader.get(UInt16.self))
            var counters: [FolioStats.Counter] = []
            for _ in 0..<count { counters.append(FolioStats.Counter(name: try reader.getString(), value: try reader.get())) }
            reply = .stats(FolioStats(migrator: migrator, counters: counters))
        case .destroyed: reply = .destroyed
        case .error:
            let errno: Int32 = try reader.get()
            // 0 ("Success") or INT32_MIN is no reason a request could fail for.
            guard kernelErrnos.contains(Int64(errno)) else { throw .badMessage }
            reply = .error(errno: errno, message: try reader.getString())
        }
        try reader.finish()
        return (header.requestID, reply)
    }
}
