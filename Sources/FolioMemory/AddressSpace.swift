import Synchronization
import SystemPackage

/// Where a folio lives, as the daemon knows it (the authoritative copy of a table entry).
public struct FolioRecord: Sendable, Equatable {
    /// Index of its tier.
    public var tier: Int
    /// Byte offset in the tier's memfd.
    public var offset: Int
    /// Size is 4 KiB << order.
    public var order: Int

    /// The folio's size in bytes.
    public var bytes: Int { FolioTableLayout.bytes(order: order) }
}

/// What one address space may hold: past either, allocation fails with EDQUOT.
public struct SpaceLimits: Sendable, Equatable {
    /// Folios at once.
    public var folios: Int
    /// Bytes of folios at once, across all tiers.
    public var bytes: Int

    public init(folios: Int = FolioTableLayout.capacity, bytes: Int = .max) {
        self.folios = folios
        self.bytes = bytes
    }
}

/// One client's memory: a memfd per tier, and a folio table in a shared memfd that clients map.
///
/// Locking: `lock` guards `records` and `freeHandles`, and is held across a whole migration
/// batch, so a folio cannot be freed or reallocated while it moves. Clients never take it: they
/// reach their folios through the pin protocol on the shared table.
public final class AddressSpace: @unchecked Sendable {
    /// A number unique in this daemon.
    public let id: Int
    /// The name a client attaches by, or nil for an anonymous space.
    public let name: String?
    /// The uid that created it; only it may attach a named space again.
    public let owner: UInt32
    /// The tiers, in config order.
    public let tiers: [Tier]
    /// What the space may hold.
    public let limits: SpaceLimits
    private let arenas: [Arena]
    /// The shared folio table.
    public let tableFD: FileDescriptor
    private let table: UnsafeMutableRawPointer
    private let lock = Mutex<Void>(())
    private var records: [FolioRecord?]
    private var freeHandles: [Int]
    private var bytesHeld = 0
    private var destroyed = false

    /// A new, empty space with an arena in each tier.
    public init(id: Int, name: String?, owner: UInt32, tiers: [Tier], limits: SpaceLimits = SpaceLimits()) throws(MemorySystemError) {
        self.id = id
        self.limits = limits
        self.name = name
        self.owner = owner
        self.tiers = tiers
        var arenas: [Arena] = []
        do {
            for tier in tiers { arenas.append(try Arena(tier: tier, spaceID: id)) }
            tableFD = try MemorySystem.memfd(name: "foliod-\(id)-table", hugetlb: false)
            try MemorySystem.resize(tableFD, to: FolioTableLayout.tableBytes)
            table = try MemorySystem.mapShared(tableFD, length: FolioTableLayout.tableBytes)
        } catch {
            arenas.forEach { $0.close() }
            throw error
        }
        self.arenas = arenas
        records = Array(repeating: nil, count: FolioTableLayout.capacity)
        freeHandles = Array((0..<FolioTableLayout.capacity).reversed())
    }

    /// The fds a client maps: the table first, then one memfd per tier.
    public var sharedFDs: [FileDescriptor] { [tableFD] + arenas.map(\.fd) }

    /// The shared entry of `handle`.
    public func entry(_ handle: Int) -> FolioEntry { FolioEntry(table: table, handle: handle) }

    /// Runs `body` with the space's metadata locked.
    public func locked<R, E: Error>(_ body: (Metadata) throws(E) -> R) throws(E) -> R {
        try lock.withLock { (_) throws(E) -> R in try body(Metadata(space: self)) }
    }

    /// Allocates `count` folios of `order` in tier `tier`; all or none (ENOMEM when the tier is
    /// full, EDQUOT past the space's limits, EINVAL for bad arguments).
    public func allocate(tier: Int, order: Int, count: Int) throws(Errno) -> [Int] {
        guard tiers.indices.contains(tier), (0...FolioTableLayout.maxOrder).contains(order), count > 0 else { throw .invalidArgument }
        return try locked { (metadata) throws(Errno) in try metadata.allocate(tier: tier, order: order, count: count) }
    }

    /// Frees each handle; a status per handle (nil for freed): ENOENT for a handle that names
    /// no folio, EBUSY for a pinned one.
    public func free(_ handles: [Int]) -> [Errno?] {
        locked { metadata in handles.map { metadata.free($0) } }
    }

    /// Frees every folio and unmaps everything; the space is unusable afterwards.
    public func destroy() {
        lock.withLock { _ in
            guard !destroyed else { return }
            destroyed = true
            for handle in records.indices { if let record = records[handle] { arenas[record.tier].release(offset: record.offset, order: record.order) } }
            records = []
            arenas.forEach { $0.close() }
            MemorySystem.unmap(table, length: FolioTableLayout.tableBytes)
            try? tableFD.close()
        }
    }

    deinit { destroy() }

    /// The space's metadata while its lock is held: what allocation, free and the migration
    /// pipeline read and change. Valid only inside the `locked` call that handed it out.
    public struct Metadata {
        /// The space whose lock is held.
        public let space: AddressSpace

        /// The folio `handle` names, or nil.
        public func record(_ handle: Int) -> FolioRecord? {
            space.records.indices.contains(handle) ? space.records[handle] : nil
        }

        /// The daemon's address of a block.
        public func address(tier: Int, offset: Int) -> UnsafeMutableRawPointer {
            space.arenas[tier].base + offset
        }

        /// A block of `order` in `tier`, charged to it (ENOMEM when full).
        public func reserve(tier: Int, order: Int) throws(Errno) -> Int {
            try space.arenas[tier].allocate(order: order)
        }

        /// Gives a block back.
        public func release(tier: Int, offset: Int, order: Int) {
            space.arenas[tier].release(offset: offset, order: order)
        }

        /// Points `handle` at its new block in the authoritative and the shared table. The
        /// caller holds the folio frozen (seq odd), so no pinned client reads the entry; the
        /// shared entry changes in one store, so a crash leaves it on one block or the other.
        public func repoint(_ handle: Int, tier: Int, offset: Int) {
            space.records[handle]?.tier = tier
            space.records[handle]?.offset = offset
            space.entry(handle).repoint(tier: tier, offset: offset)
        }

        func allocate(tier: Int, order: Int, count: Int) throws(Errno) -> [Int] {
            let bytes = FolioTableLayout.bytes(order: order) * count
            let held = FolioTableLayout.capacity - space.freeHandles.count
            guard held + count <= space.limits.folios, space.bytesHeld + bytes <= space.limits.bytes else { throw .diskQuotaExceeded }
            guard space.freeHandles.count >= count else { throw .noMemory }
            var offsets: [Int] = []
            do {
                for _ in 0..<count { offsets.append(try reserve(tier: tier, order: order)) }
            } catch {
                for offset in offsets { release(tier: tier, offset: offset, order: order) }
                throw error
            }
            space.bytesHeld += bytes
            return offsets.map { offset in
                let handle = space.freeHandles.removeLast()
                space.records[handle] = FolioRecord(tier: tier, offset: offset, order: order)
                let entry = space.entry(handle)
                entry.repoint(tier: tier, offset: offset)
                entry.order = order
                entry.isAllocated = true
                return handle
            }
        }

        func free(_ handle: Int) -> Errno? {
            guard let record = record(handle) else { return .noSuchFileOrDirectory }
            let entry = space.entry(handle)
            guard PinProtocol.freeze(entry) else { return .resourceBusy }
            entry.isAllocated = false
            space.records[handle] = nil
            release(tier: record.tier, offset: record.offset, order: record.order)
            space.bytesHeld -= record.bytes
            space.freeHandles.append(handle)
            PinProtocol.thaw(entry)
            return nil
        }
    }
}
