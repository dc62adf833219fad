/// The shared folio table's layout, which the daemon and every client agree on.
///
/// One entry per handle, 64 bytes, cache-line aligned: the words a pin touches (`seq`,
/// `accesses`) never share a line with another folio's. Pin counts are not here: each
/// attachment has its own table (`PinTable`).
///
///     offset  0  UInt32  seq     even: stable; odd: migrating (the futex word)
///     offset  4  UInt32  accesses  pins since the daemon last read it (the tiering policy's heat)
///     offset 12  UInt32  waiters pinners sleeping on the futex (so a thaw can skip the wake)
///     offset  8  UInt8   state   0 free, 1 allocated
///     offset 10  UInt8   order   size is 4 KiB << order
///     offset 16  UInt64  where   tier << 56 | byte offset in the tier's memfd
///     offset 24  UInt32  writes  write pins taken, ever (a transactional copy's dirty check)
///
/// `where` is one word so that a folio is repointed with one store: a daemon killed at any
/// instant leaves every entry naming either the old block or the complete new one. `accesses`
/// sits on the line a pin reads anyway (`seq`), so counting costs one relaxed add there; pins
/// themselves are counted per attachment (see `PinTable`). `writes` sits there too: a write pin
/// adds one to it, so the daemon can tell whether a folio was written while it was copied
/// unfrozen, or since a shadow of it was kept.
public enum FolioTableLayout {
    /// Bytes per entry.
    public static let entrySize = 64
    /// Handles per address space.
    public static let capacity = 1 << 16
    /// The table's size in bytes.
    public static let tableBytes = entrySize * capacity

    static let seqOffset = 0
    static let accessesOffset = 4
    static let waitersOffset = 12
    static let stateOffset = 8
    static let orderOffset = 10
    static let locationOffset = 16
    static let writesOffset = 24
    /// Bits of `where` that hold the byte offset; the tier sits above them.
    static let offsetBits = 56

    /// Largest folio order: 2 MiB.
    public static let maxOrder = 9
    /// Order-0 folio size.
    public static let pageSize = 4096

    /// Bytes in a folio of `order`.
    public static func bytes(order: Int) -> Int { pageSize << order }
}
