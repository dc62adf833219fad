import SystemPackage

/// What a client asks (DESIGN.md §7).
public enum Request: Equatable, Sendable {
    /// Attach to a new anonymous space (nil) or to the named one, creating it if needed, with
    /// what the client's pins do (`features`; none from a client older than them).
    case attach(name: String?, features: AttachFeatures = [])
    /// `count` folios of `order` in tier `tier`.
    case allocate(tier: UInt16, order: UInt8, count: UInt32)
    /// Free these handles.
    case free(handles: [UInt32])
    /// Move these handles to tier `targetTier` for `reason`.
    case migrate(handles: [UInt32], targetTier: UInt16, reason: MigrationReason)
    /// The daemon's counters.
    case stats
    /// Destroy the attached named space (and everything in it).
    case destroy

    /// The most handles one request may carry.
    public static let maxHandles = 16384

    /// The request's name, for error messages.
    public var name: String {
        switch self {
        case .attach: "attach"
        case .allocate: "allocate"
        case .free: "free"
        case .migrate: "migrate"
        case .stats: "stats"
        case .destroy: "destroy"
        }
    }

    /// The header's `kind` of each request, for encoding and decoding alike.
    enum Kind: UInt16 {
        case attach = 1
        case allocate = 2
        case free = 3
        case migrate = 4
        case stats = 5
        case destroy = 6
    }

    var kind: Kind {
        switch self {
        case .attach: .attach
        case .allocate: .allocate
        case .free: .free
        case .migrate: .migrate
        case .stats: .stats
        case .destroy: .destroy
        }
    }

    /// The whole message, header first.
    public func encode(requestID: UInt32) -> [UInt8] {
        var payload = WireWriter()
        switch self {
        case .attach(let name, let features):
            payload.put(name ?? "")
            // Absent when empty: the message an older client sends.
            if !features.isEmpty { payload.put(features.rawValue) }
        case .allocate(let tier, let order, let count):
            payload.put(tier)
            payload.put(order)
            payload.put(count)
        case .free(let handles): payload.put(array: handles)
        case .migrate(let handles, let targetTier, let reason):
            payload.put(targetTier)
            payload.put(UInt8(reason.rawValue))
            payload.put(array: handles)
        case .stats, .destroy: break
        }
        return frame(kind: kind.rawValue, requestID: requestID, payload: payload.bytes)
    }

    /// An attach message for a name given as bytes, sent as they are: a client passes what the
    /// user typed (invalid UTF-8 included) and the daemon's EINVAL says what is wrong with it.
    public static func attachMessage(nameBytes: [UInt8], features: AttachFeatures = [], requestID: UInt32) -> [UInt8] {
        var payload = WireWriter()
        payload.put(stringBytes: nameBytes)
        if !features.isEmpty { payload.put(features.rawValue) }
        return frame(kind: Kind.attach.rawValue, requestID: requestID, payload: payload.bytes)
    }

    /// Decodes one received message: EBADMSG for anything malformed, truncated or with
    /// trailing bytes, EPROTONOSUPPORT for another version, EOPNOTSUPP for an unknown kind,
    /// EINVAL for a space name `SpaceName` refuses.
    public static func decode(_ bytes: [UInt8]) throws(Errno) -> (requestID: UInt32, request: Request) {
        var reader = WireReader(bytes)
        let header = try MessageHeader.decode(&reader, messageBytes: bytes.count)
        guard let kind = Kind(rawValue: header.kind) else { throw .notSupportedOnSocket }
        let request: Request
        switch kind {
        case .attach:
            let name = try reader.getBytes()
            let bits: UInt32 = reader.isAtEnd ? 0 : try reader.get()
            try reader.finish()
            // A feature this daemon does not know is one it cannot honour.
            guard let features = AttachFeatures(known: bits) else { throw .invalidArgument }
            request = .attach(name: name.isEmpty ? nil : try SpaceName.validate(name), features: features)
        case .allocate: request = .allocate(tier: try reader.get(), order: try reader.get(), count: try reader.get())
        case .free: request = .free(handles: try reader.getArray(limit: maxHandles))
        case .migrate:
            let tier: UInt16 = try reader.get()
            let byte: UInt8 = try reader.get()
            let handles: [UInt32] = try reader.getArray(limit: maxHandles)
            // Checked after the whole payload is read, so a truncated message is EBADMSG first.
            guard let reason = MigrationReason(rawValue: Int(byte)) else {
                try reader.finish()
                throw .invalidArgument
            }
            request = .migrate(handles: handles, targetTier: tier, reason: reason)
        case .stats: request = .stats
        case .destroy: request = .destroy
        }
        try reader.finish()
        return (header.requestID, request)
    }
}

func frame(kind: UInt16, requestID: UInt32, payload: [UInt8]) -> [UInt8] {
    var writer = WireWriter()
    MessageHeader(kind: kind, requestID: requestID, payloadLength: UInt32(payload.count)).encode(into: &writer)
    return writer.bytes + payload
}

/// What an attaching client's pins do, a bit each (the `u32` after an attach's name).
public struct AttachFeatures: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Every write pin adds one to the folio's `writes`, and read pins count in the pin
    /// word's high half (PROTOCOL.md §6): the daemon may copy the space's folios unfrozen.
    public static let marksWrites = AttachFeatures(rawValue: 1)

    /// The attach makes a program space: its folios are mapped into a program with no pin,
    /// and move only through its runtime's channel (PROTOCOL.md §10).
    public static let mapsUnpinned = AttachFeatures(rawValue: 2)

    /// This connection is the runtime channel of the program space it names (§10).
    public static let runtimeChannel = AttachFeatures(rawValue: 4)

    /// Every feature this build knows.
    public static let all: AttachFeatures = [.marksWrites, .mapsUnpinned, .runtimeChannel]

    /// `bits` if every one is known, else nil.
    init?(known bits: UInt32) {
        guard bits & ~Self.all.rawValue == 0 else { return nil }
        self.init(rawValue: bits)
    }
}
