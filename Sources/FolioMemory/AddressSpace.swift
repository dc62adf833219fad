import FolioSharedMemory
import Synchronization
import SystemCalls
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

/// A shadow taken out of its pool by a batch (`AddressSpace.Metadata.takeShadow`).
public struct TakenShadow {
    /// The tier it is in.
    public let tier: Int
    let shadow: ShadowPool.Shadow
    /// Its byte offset in that tier.
    public var offset: Int { shadow.offset }
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

/// One client's memory: a memfd per tier, a folio table in a shared memfd that clients map, and
/// a pin table per attachment.
///
/// Locking: `lock` guards `records`, `freeHandles`, `pinTables` and the byte count, and is held
/// across a whole migration batch, so a folio cannot be freed or reallocated while it moves and
/// no session attaches between a freeze and its thaw. Clients never take it: they reach their
/// folios through the pin protocol on the shared tables.
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
    /// What the space holds counts here too (its owner's bytes across spaces), if set.
    public let quota: ByteBudget?
    /// A program space: a program maps its folios with no pin, and they move only through
    /// its runtime (AddressSpace+Program.swift).
    public let isProgram: Bool
    let runtimeSlot = Mutex<(any ProgramRuntime)?>(nil)
    // Internal, not private, for the adoption in AddressSpace+Adoption.swift, which fills
    // them in before the space is shared with anyone.
    let arenas: [Arena]
    /// The shared folio table.
    public let tableFD: FileDescriptor
    let table: UnsafeMutableRawPointer
    let lock = Mutex<Void>(())
    // Grown on demand: a space costs memory for the handles it has used, not for 65,536.
    var records: [FolioRecord?] = []
    var freeHandles: [Int] = []
    // Per handle, the tiering policy's decayed access count (see AddressSpace+Heat.swift).
    var heat: [UInt32] = []
    private var pinTables: [PinTable] = []
    // Attachments whose client does not mark its writes (it attached without the feature):
    // while one is attached, nothing can tell a folio written, so no copy runs unfrozen and
    // no shadow is kept.
    private var unmarkedTables: [PinTable] = []
    var bytesHeld = 0
    // Program spaces: destination blocks of folios whose runtime did not answer a remap in
    // time, per handle (AddressSpace+Program.swift).
    var unsettled: [Int: FolioRecord] = [:]
    private var destroyed = false

    /// A new, empty space with an arena in each tier.
    public convenience init(id: Int, name: String?, owner: UInt32, tiers: [Tier], limits: SpaceLimits = SpaceLimits(), quota: ByteBudget? = nil, isProgram: Bool = false) throws(SystemCallError) {
        var arenas: [Arena] = []
        let tableFD: FileDescriptor
        do {
            for tier in tiers { arenas.append(try Arena(tier: tier, spaceID: id)) }
            tableFD = try SharedMemory.anonymousFile(name: "foliod-\(id)-table", bytes: FolioTableLayout.tableBytes)
        } catch {
            arenas.forEach { $0.close() }
            throw error
        }
        let table: UnsafeMutableRawPointer
        do {
            table = try SharedMemory.mapShared(tableFD, length: FolioTableLayout.tableBytes)
        } catch {
            arenas.forEach { $0.close() }
            try? tableFD.close()
            throw error
        }
        self.init(id: id, name: name, owner: owner, tiers: tiers, limits: limits, quota: quota, arenas: arenas, tableFD: tableFD, table: table, isProgram: isProgram)
    }

    /// A space over memory that exists already: new arenas and table (above), or a restarted
    /// daemon's adoption. No records yet.
    init(id: Int, name: String?, owner: UInt32, tiers: [Tier], limits: SpaceLimits, quota: ByteBudget?,
         arenas: [Arena], tableFD: FileDescriptor, table: UnsafeMutableRawPointer, isProgram: Bool = false) {
        self.id = id
        self.isProgram = isProgram
        self.name = name
        self.owner = owner
        self.tiers = tiers
        self.limits = limits
        self.quota = quota
        self.arenas = arenas
        self.tableFD = tableFD
        self.table = table
    }

    /// The fds a client maps: the table first, then one memfd per tier.
    public var sharedFDs: [FileDescriptor] { [tableFD] + arenas.map(\.fd) }

    /// The shared entry of `handle`.
    public func entry(_ handle: Int) -> FolioEntry { FolioEntry(table: table, handle: handle) }

    /// A pin table for a new attachment (`shared`: in a memfd for a client process); every
    /// freeze counts its pins until `detach`. `marksWrites`: the client adds to a folio's
    /// `writes` with every write pin (PROTOCOL.md §6); one that does not keeps every batch
    /// of the space frozen while it is attached, and ends the space's shadows.
    public func attach(shared: Bool = true, marksWrites: Bool = true) throws(SystemCallError) -> PinTable {
        let pins = shared ? try PinTable.shared(name: "foliod-\(id)-pins") : PinTable.local()
        lock.withLock { _ in
            pinTables.append(pins)
            guard !marksWrites else { return }
            unmarkedTables.append(pins)
            // Its writes would not reach the shadows' marks.
            for tier in tiers { tier.shadows.dropAll(space: id) }
        }
        return pins
    }

    /// Drops an attachment's pin table: the pins it holds stop counting (its client is gone).
    public func detach(_ pins: PinTable) {
        lock.withLock { _ in
            pinTables.removeAll { $0 === pins }
            unmarkedTables.removeAll { $0 === pins }
        }
    }

    /// Runs `body` with the space's metadata locked.
    public func locked<R, E: Error>(_ body: (Metadata) throws(E) -> R) throws(E) -> R {
        try lock.withLock { (_) throws(E) -> R in try body(Metadata(space: self)) }
    }

    /// Allocates `count` folios of `order` in tier `tier`; all or none (ENOMEM when the tier is
    /// full, EDQUOT past the space's or the owner's limits, EINVAL for bad arguments).
    public func allocate(tier: Int, order: Int, count: Int) throws(Errno) -> [Int] {
        guard tiers.indices.contains(tier), (0...FolioTableLayout.maxOrder).contains(order), count > 0 else { throw .invalidArgument }
        return try locked { (metadata) throws(Errno) in try metadata.allocate(tier: tier, order: order, count: count) }
    }

    /// Throws EDQUOT if `count` folios of `order` would pass the space's or the owner's limits
    /// now (what `allocate` would refuse first), changing nothing: a caller that makes room
    /// before allocating (the tiering policy's direct reclaim) asks first, so a request that
    /// will be refused moves nobody's data.
    public func checkLimits(order: Int, count: Int) throws(Errno) {
        guard (0...FolioTableLayout.maxOrder).contains(order), count > 0 else { throw .invalidArgument }
        try locked { (metadata) throws(Errno) in try metadata.checkLimits(bytes: FolioTableLayout.bytes(order: order) * count, count: count) }
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
            // Before the table is unmapped: the pools read the shadows' entries.
            for tier in tiers { tier.shadows.dropAll(space: id) }
            for case let record? in records { arenas[record.tier].release(offset: record.offset, order: record.order) }
            for record in unsettled.values { arenas[record.tier].release(offset: record.offset, order: record.order) }
            unsettled = [:]
            quota?.credit(bytesHeld)
            records = []
            pinTables = []
            arenas.forEach { $0.close() }
            SharedMemory.unmap(table, length: FolioTableLayout.tableBytes)
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

        /// Up to `count` blocks of `order` in `tier`, charged to it, at once: as many as fit.
        public func reserve(tier: Int, order: Int, count: Int) -> [Int] {
            space.arenas[tier].allocate(order: order, count: count)
        }

        /// Gives a block back.
        public func release(tier: Int, offset: Int, order: Int) {
            space.arenas[tier].release(offset: offset, order: order)
        }

        /// Gives blocks of `tier` back at once.
        public func release(tier: Int, blocks: [(offset: Int, order: Int)]) {
            space.arenas[tier].release(blocks)
        }

        /// Marks `handle`'s folio migrating unless an attachment holds it pinned.
        public func freeze(_ handle: Int) -> Bool {
            freeze(handle, pinnedBy: pinTables)
        }

        /// Every attachment's pin table now: a batch reads it once for all its freezes (no
        /// attachment comes or goes while the lock is held).
        public var pinTables: [PinTable] { space.pinTables }

        /// `freeze` against tables read once by `pinTables`.
        public func freeze(_ handle: Int, pinnedBy tables: [PinTable]) -> Bool {
            PinProtocol.freeze(space.entry(handle), pinnedBy: tables)
        }

        /// Whether every attachment marks its writes: a batch may copy unfrozen and keep
        /// shadows only then.
        public var writesAreMarked: Bool { space.unmarkedTables.isEmpty }

        /// `handle`'s `writes` reading to copy it unfrozen against, or nil while a write pin
        /// is held (see `PinProtocol.writeMark`).
        public func writeMark(_ handle: Int, pinnedBy tables: [PinTable]) -> UInt32? {
            PinProtocol.writeMark(space.entry(handle), pinnedBy: tables)
        }

        /// `handle`'s `writes` now; under a freeze, no write pin can add to it.
        public func writes(_ handle: Int) -> UInt32 {
            space.entry(handle).writes.load(ordering: .sequentiallyConsistent)
        }

        /// Keeps the block `offset` of `tier` (a promoted folio's source, holding its bytes) as
        /// `handle`'s shadow, valid while `writes` stays `mark`.
        public func keepShadow(_ handle: Int, tier: Int, offset: Int, order: Int, mark: UInt32) {
            space.tiers[tier].shadows.keep(space: space.id, handle: handle, arena: space.arenas[tier], offset: offset, order: order, mark: mark, entry: space.entry(handle))
        }

        /// `handle`'s shadow, out of its pool, if it has one: the caller repoints the folio to
        /// it (`useShadow`) or gives it back (`releaseShadow`).
        public func takeShadow(_ handle: Int) -> TakenShadow? {
            for tier in space.tiers {
                if let shadow = tier.shadows.take(space: space.id, handle: handle) { return TakenShadow(tier: tier.index, shadow: shadow) }
            }
            return nil
        }

        /// Whether `taken` still holds `handle`'s bytes: no write pin since its promotion.
        /// Final with the folio frozen; unfrozen, only `false` is (`writes` only grows).
        public func isClean(_ taken: TakenShadow, of handle: Int) -> Bool {
            writes(handle) == taken.shadow.mark
        }

        /// Counts a move `taken` served; its block is the folio's from now on.
        public func useShadow(_ taken: TakenShadow) {
            space.tiers[taken.tier].shadows.countHit()
        }

        /// Frees a shadow taken and not used.
        public func releaseShadow(_ taken: TakenShadow) {
            space.tiers[taken.tier].shadows.release(taken.shadow)
        }

        /// Ends the migrating state of `handle`'s folio.
        public func thaw(_ handle: Int) {
            PinProtocol.thaw(space.entry(handle))
        }

        /// Points `handle` at its new block in the authoritative and the shared table. The
        /// caller holds the folio frozen (seq odd), so no pinned client reads the entry; the
        /// shared entry changes in one store, so a crash leaves it on one block or the other.
        public func repoint(_ handle: Int, tier: Int, offset: Int) {
            if let order = space.records[handle]?.order { space.records[handle] = FolioRecord(tier: tier, offset: offset, order: order) }
            space.entry(handle).repoint(tier: tier, offset: offset)
        }

        func checkLimits(bytes: Int, count: Int) throws(Errno) {
            let held = space.records.count - space.freeHandles.count
            guard held + count <= space.limits.folios, space.bytesHeld + bytes <= space.limits.bytes,
                  bytes <= space.quota?.freeBytes ?? Int.max else { throw .diskQuotaExceeded }
        }

        func allocate(tier: Int, order: Int, count: Int) throws(Errno) -> [Int] {
            let bytes = FolioTableLayout.bytes(order: order) * count
            let held = space.records.count - space.freeHandles.count
            guard held + count <= space.limits.folios, space.bytesHeld + bytes <= space.limits.bytes else { throw .diskQuotaExceeded }
            guard FolioTableLayout.capacity - held >= count else { throw .noMemory }
            guard space.quota?.charge(bytes) ?? true else { throw .diskQuotaExceeded }
            // All or nothing: what the tier could give goes back if it is not everything.
            let offsets = reserve(tier: tier, order: order, count: count)
            guard offsets.count == count else {
                release(tier: tier, blocks: offsets.map { ($0, order) })
                space.quota?.credit(bytes)
                throw .noMemory
            }
            space.bytesHeld += bytes
            return offsets.map { offset in
                let handle = takeHandle()
                space.records[handle] = FolioRecord(tier: tier, offset: offset, order: order)
                let entry = space.entry(handle)
                // A new folio starts cold, whatever the handle's last folio did.
                entry.accesses.store(0, ordering: .relaxed)
                if space.heat.indices.contains(handle) { space.heat[handle] = 0 }
                entry.repoint(tier: tier, offset: offset)
                entry.order = order
                entry.isAllocated = true
                return handle
            }
        }

        /// The most recently freed handle first (its entry's line is likeliest cached), else a
        /// new one past the last: handles read 0, 1, 2… in a fresh space.
        private func takeHandle() -> Int {
            if let handle = space.freeHandles.popLast() { return handle }
            space.records.append(nil)
            return space.records.count - 1
        }

        func free(_ handle: Int) -> Errno? {
            guard let record = record(handle) else { return .noSuchFileOrDirectory }
            guard freeze(handle) else { return .resourceBusy }
            for tier in space.tiers { tier.shadows.drop(space: space.id, handle: handle) }
            space.entry(handle).isAllocated = false
            space.records[handle] = nil
            release(tier: record.tier, offset: record.offset, order: record.order)
            // The program gave it up: neither block is mapped for it any more.
            if let destination = space.unsettled.removeValue(forKey: handle) { release(tier: destination.tier, offset: destination.offset, order: destination.order) }
            space.bytesHeld -= record.bytes
            space.quota?.credit(record.bytes)
            space.freeHandles.append(handle)
            thaw(handle)
            return nil
        }
    }
}
