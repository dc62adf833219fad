import Atomics

/// One entry of a mapped folio table: typed access to the shared words at a pointer.
///
/// `seq` and `waiters` are atomics on shared memory (`UnsafeAtomic`, since `Synchronization.Atomic`
/// lives inline in a Swift value). The other fields are written only by the daemon, and only
/// while `seq` is odd or the entry is free, so a reader holding a pin sees them stable.
public struct FolioEntry {
    let base: UnsafeMutableRawPointer
    /// The handle this entry belongs to (its pin counter's index in every pin table).
    public let handle: Int

    /// The entry of `handle` in the table mapped at `table`.
    public init(table: UnsafeMutableRawPointer, handle: Int) {
        precondition(handle >= 0 && handle < FolioTableLayout.capacity, "handle \(handle) out of range")
        base = table + handle * FolioTableLayout.entrySize
        self.handle = handle
    }

    /// The sequence word: odd while the folio migrates.
    public var seq: UnsafeAtomic<UInt32> {
        UnsafeAtomic(at: (base + FolioTableLayout.seqOffset).assumingMemoryBound(to: UnsafeAtomic<UInt32>.Storage.self))
    }

    /// Pinners asleep on the futex; a thaw wakes only when it is not zero.
    public var waiters: UnsafeAtomic<UInt32> {
        UnsafeAtomic(at: (base + FolioTableLayout.waitersOffset).assumingMemoryBound(to: UnsafeAtomic<UInt32>.Storage.self))
    }

    /// Pins of the folio since the daemon last took the count: every client adds one per pin
    /// (relaxed; a lost race costs a count, never correctness), the tiering policy exchanges
    /// it for 0 once per aggregation interval.
    public var accesses: UnsafeAtomic<UInt32> {
        UnsafeAtomic(at: (base + FolioTableLayout.accessesOffset).assumingMemoryBound(to: UnsafeAtomic<UInt32>.Storage.self))
    }

    /// Write pins of the folio, ever: every write pin adds one once it holds (sequentially
    /// consistent, as the pin itself). The daemon compares two readings: equal means no write
    /// pin was taken between them, unless a multiple of 2^32 were: never within one copy; a
    /// shadow, compared after however long its folio stays promoted, is also dropped by the
    /// policy's next aggregation after a write, so only an exact wrap between two aggregations
    /// (or with the policy off) could hide a write, and only from the writer's own space.
    public var writes: UnsafeAtomic<UInt32> {
        UnsafeAtomic(at: (base + FolioTableLayout.writesOffset).assumingMemoryBound(to: UnsafeAtomic<UInt32>.Storage.self))
    }

    /// The raw futex word (same memory as `seq`).
    var seqWord: UnsafeMutablePointer<UInt32> {
        (base + FolioTableLayout.seqOffset).assumingMemoryBound(to: UInt32.self)
    }

    /// Whether the handle names an allocated folio.
    public var isAllocated: Bool {
        get { base.load(fromByteOffset: FolioTableLayout.stateOffset, as: UInt8.self) == 1 }
        nonmutating set { base.storeBytes(of: newValue ? 1 : 0, toByteOffset: FolioTableLayout.stateOffset, as: UInt8.self) }
    }

    /// The folio's tier and offset in one word, stored with one atomic write.
    var location: UnsafeAtomic<UInt64> {
        UnsafeAtomic(at: (base + FolioTableLayout.locationOffset).assumingMemoryBound(to: UnsafeAtomic<UInt64>.Storage.self))
    }

    /// The folio's tier and byte offset, from one load of the word.
    public var placement: (tier: Int, offset: Int) {
        let word = location.load(ordering: .acquiring)
        return (Int(word >> UInt64(FolioTableLayout.offsetBits)), Int(word & ((1 << UInt64(FolioTableLayout.offsetBits)) - 1)))
    }

    /// The tier index the folio lives in.
    public var tier: Int { placement.tier }

    /// Points the entry at `offset` in `tier`, in one store.
    public func repoint(tier: Int, offset: Int) {
        location.store(Self.location(tier: tier, offset: offset), ordering: .releasing)
    }

    /// The `where` word of `offset` in `tier`.
    public static func location(tier: Int, offset: Int) -> UInt64 {
        precondition(offset < 1 << FolioTableLayout.offsetBits && tier < 256)
        return UInt64(tier) << UInt64(FolioTableLayout.offsetBits) | UInt64(offset)
    }

    /// The folio's order.
    public var order: Int {
        get { Int(base.load(fromByteOffset: FolioTableLayout.orderOffset, as: UInt8.self)) }
        nonmutating set { base.storeBytes(of: UInt8(newValue), toByteOffset: FolioTableLayout.orderOffset, as: UInt8.self) }
    }
}
