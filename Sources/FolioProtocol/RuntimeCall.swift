import SystemPackage

/// A call the daemon makes to a program's runtime on its channel (PROTOCOL.md §10), and the
/// runtime's answer to it.
public enum RuntimeCall: Equatable, Sendable {
    /// Take write access away from these folios.
    case revoke(handles: [UInt32])
    /// Map each folio's bytes at `location` (the entry's `where` encoding) at its address.
    case remap(folios: [RemappedFolio])
    /// Give write access back to these folios where they are mapped now (after a revoke the
    /// daemon gave up waiting for): never maps anything, so a handle freed and reused since
    /// cannot be pointed at a block it no longer owns.
    case restore(handles: [UInt32])

    enum Kind: UInt16 {
        case revoke = 0x40
        case remap = 0x41
        case restore = 0x42
    }

    /// One folio of a `remap` call: 12 bytes on the wire.
    public struct RemappedFolio: Equatable, Sendable {
        public var handle: UInt32
        public var location: UInt64

        public init(handle: UInt32, location: UInt64) {
            self.handle = handle
            self.location = location
        }
    }

    /// The most folios one call carries: a batch's.
    public static let maxFolios = 512

    public func encode(callID: UInt32) -> [UInt8] {
        var payload = WireWriter()
        switch self {
        case .revoke(let handles):
            payload.put(array: handles)
            return frame(kind: Kind.revoke.rawValue, requestID: callID, payload: payload.bytes)
        case .restore(let handles):
            payload.put(array: handles)
            return frame(kind: Kind.restore.rawValue, requestID: callID, payload: payload.bytes)
        case .remap(let folios):
            payload.put(UInt32(folios.count))
            for folio in folios {
                payload.put(folio.handle)
                payload.put(folio.location)
            }
            return frame(kind: Kind.remap.rawValue, requestID: callID, payload: payload.bytes)
        }
    }

    /// Decodes a call, as a runtime does (and the tests): EBADMSG for anything malformed.
    public static func decode(_ bytes: [UInt8]) throws(Errno) -> (callID: UInt32, call: RuntimeCall) {
        var reader = WireReader(bytes)
        let header = try MessageHeader.decode(&reader, messageBytes: bytes.count)
        let call: RuntimeCall
        switch Kind(rawValue: header.kind) {
        case .revoke: call = .revoke(handles: try reader.getArray(limit: maxFolios))
        case .restore: call = .restore(handles: try reader.getArray(limit: maxFolios))
        case .remap:
            let count: UInt32 = try reader.get()
            guard count <= maxFolios else { throw .badMessage }
            var folios: [RemappedFolio] = []
            for _ in 0..<count { folios.append(RemappedFolio(handle: try reader.get(), location: try reader.get())) }
            call = .remap(folios: folios)
        case nil: throw .notSupportedOnSocket
        }
        try reader.finish()
        return (header.requestID, call)
    }
}

/// A runtime's answer to a `RuntimeCall`, carrying the call's id back.
public enum RuntimeAnswer: Equatable, Sendable {
    /// Write access is gone from every folio of the `revoke` (and is back, for a `restore`).
    case revoked
    /// Per folio of the `remap`, in its order: 0, or a negative errno for one left where it was.
    case remapped(status: [Int32])

    enum Kind: UInt16 {
        case revoked = 0xC0
        case remapped = 0xC1
    }

    public func encode(callID: UInt32) -> [UInt8] {
        var payload = WireWriter()
        switch self {
        case .revoked: return frame(kind: Kind.revoked.rawValue, requestID: callID, payload: [])
        case .remapped(let status):
            payload.put(array: status)
            return frame(kind: Kind.remapped.rawValue, requestID: callID, payload: payload.bytes)
        }
    }

    /// Decodes an answer: EBADMSG for anything malformed, EOPNOTSUPP for another kind (a
    /// request sent on a channel).
    public static func decode(_ bytes: [UInt8]) throws(Errno) -> (callID: UInt32, answer: RuntimeAnswer) {
        var reader = WireReader(bytes)
        let header = try MessageHeader.decode(&reader, messageBytes: bytes.count)
        let answer: RuntimeAnswer
        switch Kind(rawValue: header.kind) {
        case .revoked: answer = .revoked
        case .remapped: answer = .remapped(status: try reader.getArray(limit: RuntimeCall.maxFolios))
        case nil: throw .notSupportedOnSocket
        }
        try reader.finish()
        return (header.requestID, answer)
    }
}
