import SystemPackage

/// Appends little-endian fields to a message.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func put(_ string: String) {
        put(stringBytes: Array(string.utf8))
    }

    /// A string's length and bytes as they are (valid UTF-8 or not), cut at 65,535.
    mutating func put(stringBytes: [UInt8]) {
        let prefix = stringBytes.prefix(Int(UInt16.max))
        put(UInt16(prefix.count))
        bytes.append(contentsOf: prefix)
    }

    mutating func put<T: FixedWidthInteger>(array: [T]) {
        put(UInt32(array.count))
        #if _endian(little)
        // The wire is little-endian, like this machine: the elements' bytes as they lie.
        array.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in array { put(value) }
        #endif
    }
}

/// Reads little-endian fields; any read past the end, or a count larger than the message can
/// hold, is EBADMSG.
struct WireReader {
    private let bytes: [UInt8]
    private var position: Int

    init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var isAtEnd: Bool { position == bytes.count }

    mutating func get<T: FixedWidthInteger>(_: T.Type = T.self) throws(Errno) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - position >= size else { throw .badMessage }
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[position..<position + size]) }
        position += size
        return T(littleEndian: value)
    }

    /// A length-prefixed string, decoded leniently (for text meant for people: messages, tier
    /// names from the daemon).
    mutating func getString() throws(Errno) -> String {
        String(decoding: try getBytes(), as: UTF8.self)
    }

    /// The bytes of a length-prefixed string, exactly as sent.
    mutating func getBytes() throws(Errno) -> ArraySlice<UInt8> {
        let count = Int(try get(UInt16.self))
        guard bytes.count - position >= count else { throw .badMessage }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func getArray<T: FixedWidthInteger>(_: T.Type = T.self, limit: Int) throws(Errno) -> [T] {
        let count = Int(try get(UInt32.self))
        guard count <= limit, count * MemoryLayout<T>.size <= bytes.count - position else { throw .badMessage }
        #if _endian(little)
        let size = count * MemoryLayout<T>.size
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[position..<position + size]))
            }
            initialized = count
        }
        position += size
        return values
        #else
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try get(T.self)) }
        return values
        #endif
    }

    /// Fails unless every byte was read: trailing garbage is a malformed message.
    func finish() throws(Errno) {
        guard isAtEnd else { throw .badMessage }
    }
}
