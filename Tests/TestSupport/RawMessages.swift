import FolioProtocol

/// Messages no encoder would write, for tests of what the daemon does with them.
public enum RawMessages {
    /// An attach whose name field holds exactly `name`, whatever the bytes.
    public static func attach(rawName name: [UInt8]) -> [UInt8] {
        var message = Request.attach(name: nil).encode(requestID: 1)
        message.removeLast(2)
        message += [UInt8(name.count & 0xFF), UInt8(name.count >> 8)] + name
        let payload = message.count - MessageHeader.size
        message[12] = UInt8(payload & 0xFF)
        message[13] = UInt8(payload >> 8)
        return message
    }
}
