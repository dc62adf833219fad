import FolioClient
import FolioMemory
import FolioProtocol
import FolioSharedMemory
import Migration
import Sysfs
import SystemCalls
import SystemPackage

/// The migration core embedded in this process: the same pipeline and knobs, no socket.
final class InProcessBenchTarget: BenchTarget {
    private let core = MigrationCore()
    private let tree = SysfsTree()
    private let space: AddressSpace
    private let pins: PinTable
    private let tiers: [Tier]
    private let bases: [UnsafeMutableRawPointer]

    init(tierBytes: Int) throws {
        tiers = ["fast", "slow"].enumerated().map { Tier(spec: TierSpec(name: $1, sizeBytes: tierBytes), index: $0) }
        core.registerKnobs(in: tree)
        let space = try AddressSpace(id: 1, name: nil, owner: 0, tiers: tiers)
        self.space = space
        pins = try space.attach(shared: false)
        bases = space.locked { metadata in space.tiers.indices.map { metadata.address(tier: $0, offset: 0) } }
    }

    var tierSizes: [(name: String, bytes: Int)] { tiers.map { ($0.spec.name, $0.spec.sizeBytes) } }

    func pageKind(tier: Int) throws -> HugePageMode { tiers[tier].spec.hugePages }

    func copyFaults() throws -> UInt64 { core.pipeline.statistics[.copyFaults] }

    func knob(_ path: String) throws -> String {
        String(decoding: try tree.attribute(path).show(), as: UTF8.self).withoutTrailingNewline
    }

    func setKnob(_ path: String, _ value: String) throws {
        _ = try tree.attribute(path).write(value + "\n")
    }

    // The space numbers folios by entry index; the bench speaks in client handles.
    func allocate(tier: Int, order: Int, count: Int) throws -> [FolioHandle] {
        try space.allocate(tier: tier, order: order, count: count).map { FolioHandle(rawValue: UInt32($0)) }
    }

    func migrate(_ handles: [FolioHandle], to tier: Int) throws -> (results: [FolioResult], copyNanos: UInt64) {
        let request = MigrationRequest(handles: handles.map(\.index), targetTier: tier, reason: .syscall)
        let result = try core.pipeline.migrate(request, in: space).get()
        return (result.results, result.copyNanos)
    }

    func withFolio<R>(_ folio: FolioHandle, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        try withPin(folio, for: .write, body)
    }

    func withReadFolio<R>(_ folio: FolioHandle, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withPin(folio, for: .read) { try body(UnsafeRawBufferPointer($0)) }
    }

    /// Pins as a client does, and reaches the bytes through the shared entry, not the space's
    /// lock (a batch holds it while it copies).
    private func withPin<R>(_ folio: FolioHandle, for access: PinAccess, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        let entry = space.entry(folio.index)
        guard PinProtocol.pin(entry, in: pins, for: access) == .pinned else { throw Errno.overflow }
        defer { PinProtocol.unpin(entry, in: pins, for: access) }
        guard entry.isAllocated else { throw Errno.noSuchFileOrDirectory }
        let (tier, offset) = entry.placement
        return try body(UnsafeMutableRawBufferPointer(start: bases[tier] + offset, count: FolioTableLayout.bytes(order: entry.order)))
    }

    func free(_ handles: [FolioHandle]) throws {
        _ = space.free(handles.map(\.index))
    }
}
