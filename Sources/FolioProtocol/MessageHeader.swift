import SystemPackage

/// The 16 bytes in front of every message: magic, version, kind, request id, payload length.
public struct MessageHeader: Equatable, Sendable {
    /// "FOLI".
    public static let magic: UInt32 = 0x464F_4C49
    /// The protocol version this build speaks.
    public static let version: UInt16 = 1
    /// Header bytes.
    public static let size = 16
    /// The largest message either side sends or accepts, header included.
    public static let maxMessageBytes = 128 << 10

    /// What the payload is.
    public var kind: UInt16
    /// Chosen by the client; the reply carries it back.
    public var requestID: UInt32
    /// Payload bytes after the header.
    public var payloadLength: UInt32

    func encode(into writer: inout WireWriter) {
        writer.put(Self.magic)
        writer.put(Self.version)
        writer.put(kind)
        writer.put(requestID)
        writer.put(payloadLength)
    }

    /// The request id of a message too broken to decode, if its header got that far (0
    /// otherwise), so even a malformed request's error reply names it.
    public static func requestID(ofMalformed bytes: [UInt8]) -> UInt32 {
        guard bytes.count >= requestIDOffset + 4 else { return 0 }
        var reader = WireReader(bytes, from: requestIDOffset)
        return (try? reader.get(UInt32.self)) ?? 0
    }

    /// Where the request id sits in the header.
    static let requestIDOffset = 8

    /// Parses and checks a header: EBADMSG for a wrong magic or length, EPROTONOSUPPORT for
    /// another version.
    static func decode(_ reader: inout WireReader, messageBytes: Int) throws(Errno) -> MessageHeader {
        guard try reader.get(UInt32.self) == magic else { throw .badMessage }
        guard try reader.get(UInt16.self) == version else { throw .protocolNotSupported }
        let header = MessageHeader(kind: try reader.get(), requestID: try reader.get(), payloadLength: try reader.get())
        guard Int(header.payloadLength) == messageBytes - size else { throw .badMessage }
        return header
    }
}
