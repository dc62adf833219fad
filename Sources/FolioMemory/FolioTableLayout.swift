/// The shared folio table's layout, which the daemon and every client agree on.
///
/// One entry per handle, 64 bytes, cache-line aligned: a client's pin count (written on every
/// access) never shares a line with another folio's words.
///
///     offset  0  UInt32  seq     even: stable; odd: migrating (the futex word)
///     offset  4  UInt32  pins    the client's pin count
///     offset 12  UInt32  waiters pinners sleeping on the futex (so a thaw can skip the wake)
///     offset  8  UInt8   state   0 free, 1 allocated
///     offset  9  UInt8   tier    index into the space's tiers
///     offset 10  UInt8   order   size is 4 KiB << order
///     offset 16  UInt64  offset  byte offset of the folio in its tier's memfd
public enum FolioTableLayout {
    /// Bytes per entry.
    public static let entrySize = 64
    /// Handles per address space.
    public static let capacity = 1 << 16
    /// The table's size in bytes.
    public static let tableBytes = entrySize * capacity

    static let seqOffset = 0
    static let pinsOffset = 4
    static let waitersOffset = 12
    static let stateOffset = 8
    static let tierOffset = 9
    static let orderOffset = 10
    static let folioOffsetOffset = 16

    /// Largest folio order: 2 MiB.
    public static let maxOrder = 9
    /// Order-0 folio size.
    public static let pageSize = 4096

    /// Bytes in a folio of `order`.
    public static func bytes(order: Int) -> Int { pageSize << order }
}
