import FolioSharedMemory
import SystemCalls
import SystemPackage

/// A named space a previous daemon left behind: its number, name and owner, and the memfds of
/// its folio table and of each tier's arena, in tier order (as the systemd fd store hands
/// them back).
public struct StoredSpace: Sendable {
    public var id: Int
    public var name: String
    public var owner: UInt32
    public var table: FileDescriptor
    public var tiers: [FileDescriptor]

    public init(id: Int, name: String, owner: UInt32, table: FileDescriptor, tiers: [FileDescriptor]) {
        self.id = id
        self.name = name
        self.owner = owner
        self.table = table
        self.tiers = tiers
    }
}

/// What adopting a stored space found in its folio table.
public struct AdoptionReport: Sendable, Equatable {
    /// Folios kept, and their bytes.
    public var folios = 0
    public var bytes = 0
    /// Folios the previous daemon died migrating: thawed on their old block, which holds
    /// their data (a folio is repointed only after its copy is complete).
    public var thawed = 0
    /// Entries that named no valid block (out of range, misaligned, overlapping another
    /// folio), cleared. Only a client scribbling on its own table makes these.
    public var dropped = 0

    public init() {}
}

extension AddressSpace {
    /// Adopts `stored`: the allocators are rebuilt from the folio table itself, not from state
    /// written beside it, which a crash can leave stale. A half-copied destination block is
    /// named by no entry, so it comes back free. EINVAL when the memfds do not match `tiers`
    /// (the config changed); ENOMEM when a tier cannot hold the folios.
    /// The space takes `stored`'s descriptors; on failure they are all closed.
    public static func adopt(_ stored: StoredSpace, tiers: [Tier], limits: SpaceLimits = SpaceLimits(), quota: ByteBudget? = nil) throws(SystemCallError) -> (AddressSpace, AdoptionReport) {
        let table: UnsafeMutableRawPointer
        do throws(SystemCallError) {
            guard stored.tiers.count == tiers.count else {
                throw SystemCallError(call: "space \(stored.name): \(stored.tiers.count) tier memfds stored, \(tiers.count) tiers configured", errno: .invalidArgument)
            }
            guard try SharedMemory.size(of: stored.table) == FolioTableLayout.tableBytes else {
                throw SystemCallError(call: "space \(stored.name): the stored folio table is not \(FolioTableLayout.tableBytes) bytes", errno: .invalidArgument)
            }
            table = try SharedMemory.mapShared(stored.table, length: FolioTableLayout.tableBytes)
        } catch {
            ([stored.table] + stored.tiers).forEach { try? $0.close() }
            throw error
        }
        var report = AdoptionReport()
        let folios = scan(table, tiers: tiers, report: &report)
        var arenas: [Arena] = []
        do {
            for (index, tier) in tiers.enumerated() {
                let used = folios.filter { $0.record.tier == index }.map { (offset: $0.record.offset, order: $0.record.order) }
                arenas.append(try Arena(tier: tier, adopting: stored.tiers[index], used: used))
            }
        } catch {
            // Each arena built owns its memfd; the rest are still ours to close.
            arenas.forEach { $0.close() }
            stored.tiers[arenas.count...].forEach { try? $0.close() }
            SharedMemory.unmap(table, length: FolioTableLayout.tableBytes)
            try? stored.table.close()
            throw error
        }
        let space = AddressSpace(id: stored.id, name: stored.name, owner: stored.owner, tiers: tiers, limits: limits, quota: quota,
                                 arenas: arenas, tableFD: stored.table, table: table)
        space.records = Array(repeating: nil, count: (folios.map(\.handle).max() ?? -1) + 1)
        for folio in folios { space.records[folio.handle] = folio.record }
        // Highest first: `takeHandle` pops the lowest free handle.
        space.freeHandles = space.records.indices.reversed().filter { space.records[$0] == nil }
        space.bytesHeld = report.bytes
        quota?.force(report.bytes)
        return (space, report)
    }

    /// The valid folios of a table; invalid entries are cleared and frozen ones thawed.
    private static func scan(_ table: UnsafeMutableRawPointer, tiers: [Tier], report: inout AdoptionReport) -> [(handle: Int, record: FolioRecord)] {
        var candidates: [(handle: Int, record: FolioRecord)] = []
        for handle in 0..<FolioTableLayout.capacity {
            let entry = FolioEntry(table: table, handle: handle)
            if entry.seq.load(ordering: .acquiring) & 1 == 1 {
                PinProtocol.thaw(entry)
                if entry.isAllocated { report.thawed += 1 }
            }
            guard entry.isAllocated else { continue }
            let (tier, offset) = entry.placement
            let record = FolioRecord(tier: tier, offset: offset, order: entry.order)
            if isValid(record, tiers: tiers) {
                candidates.append((handle, record))
            } else {
                entry.isAllocated = false
                report.dropped += 1
            }
        }
        // Two entries on one block: the first (by offset, then handle) keeps it.
        var kept: [(handle: Int, record: FolioRecord)] = []
        for tier in tiers.indices {
            var end = 0
            for folio in candidates.filter({ $0.record.tier == tier }).sorted(by: { ($0.record.offset, $0.handle) < ($1.record.offset, $1.handle) }) {
                guard folio.record.offset >= end else {
                    FolioEntry(table: table, handle: folio.handle).isAllocated = false
                    report.dropped += 1
                    continue
                }
                end = folio.record.offset + folio.record.bytes
                kept.append(folio)
            }
        }
        report.folios = kept.count
        report.bytes = kept.reduce(0) { $0 + $1.record.bytes }
        return kept.sorted { $0.handle < $1.handle }
    }

    /// Whether `record` names a whole, aligned block inside its tier.
    private static func isValid(_ record: FolioRecord, tiers: [Tier]) -> Bool {
        guard (0...FolioTableLayout.maxOrder).contains(record.order), tiers.indices.contains(record.tier) else { return false }
        let bytes = record.bytes
        return record.offset % bytes == 0 && record.offset <= tiers[record.tier].spec.sizeBytes - bytes
    }
}
