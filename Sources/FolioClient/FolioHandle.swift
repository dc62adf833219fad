/// A folio in an attached space: the index of its entry in the folio table. Only meaningful
/// with the client (and space) that allocated it.
public struct FolioHandle: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt32) { rawValue = value }

    /// The handle `value`, or nil when no folio can have it (negative or past 32 bits).
    public init?(_ value: Int) {
        guard let raw = UInt32(exactly: value) else { return nil }
        rawValue = raw
    }

    /// The entry's index, for tables a client keeps beside the folio table.
    public var index: Int { Int(rawValue) }
    public var description: String { String(rawValue) }
    public static func < (a: FolioHandle, b: FolioHandle) -> Bool { a.rawValue < b.rawValue }
}
