import FolioMemory
import FolioSharedMemory
import Migration
import Sysfs
@testable import Tiering

/// A policy over two real tiers (memfd-backed spaces, in-process), with helpers to heat folios
/// through the pin protocol and to check their bytes.
final class TieringFixture: @unchecked Sendable {
    let core = MigrationCore()
    let fast: Tier
    let slow: Tier
    let policy: TieringPolicy
    let tree = SysfsTree()
    private(set) var spaces: [AddressSpace] = []
    private var pins: [ObjectIdentifier: PinTable] = [:]
    private var bases: [ObjectIdentifier: [UnsafeMutableRawPointer]] = [:]

    init(fastBytes: Int = 8 << 20, slowBytes: Int = 32 << 20) {
        fast = Tier(spec: TierSpec(name: "fast", sizeBytes: fastBytes), index: 0)
        slow = Tier(spec: TierSpec(name: "slow", sizeBytes: slowBytes), index: 1)
        policy = TieringPolicy(pipeline: core.pipeline, tiers: [fast, slow])
        core.registerKnobs(in: tree)
        policy.registerTierKnobs(in: tree)
        policy.registerKnobs(in: tree.directory("tiering"))
    }

    /// A new space the policy sees, with a pin table of its own.
    func makeSpace(limits: SpaceLimits = SpaceLimits()) throws -> AddressSpace {
        let space = try AddressSpace(id: spaces.count + 1, name: nil, owner: 0, tiers: [fast, slow], limits: limits)
        pins[ObjectIdentifier(space)] = try space.attach(shared: false)
        // Read once, as a client maps each tier once: a pin never waits for the space's lock.
        bases[ObjectIdentifier(space)] = space.locked { metadata in (0..<2).map { metadata.address(tier: $0, offset: 0) } }
        policy.track(space)
        spaces.append(space)
        return space
    }

    func pinTable(_ space: AddressSpace) -> PinTable { pins[ObjectIdentifier(space)]! }

    /// Pins and unpins each folio `times` times, as a client's accesses.
    func touch(_ space: AddressSpace, _ handles: [Int], times: Int, for access: PinAccess = .write) {
        for handle in handles {
            for _ in 0..<times {
                PinProtocol.pin(space.entry(handle), in: pinTable(space), for: access)
                PinProtocol.unpin(space.entry(handle), in: pinTable(space), for: access)
            }
        }
    }

    /// Writes a pattern of `handle` into each folio, under a pin.
    func fill(_ space: AddressSpace, _ handles: [Int]) {
        for handle in handles { withBytes(space, handle) { bytes in for i in 0..<bytes.count { bytes[i] = Self.pattern(handle, i) } } }
    }

    /// Whether every folio still holds its pattern.
    func intact(_ space: AddressSpace, _ handles: [Int]) -> Bool {
        handles.allSatisfy { handle in withBytes(space, handle) { bytes in (0..<bytes.count).allSatisfy { bytes[$0] == Self.pattern(handle, $0) } } }
    }

    /// Under one pin: checks that every byte of the folio is `expected`, then sets them all to
    /// `next`. False if any byte was not `expected` (a write lost or torn by a move).
    func rewrite(_ space: AddressSpace, _ handle: Int, expected: UInt8, next: UInt8) -> Bool {
        withBytes(space, handle) { bytes in
            // Word by word: a byte loop is too slow in a debug build to keep folios hot.
            let words = UnsafeMutableRawBufferPointer(bytes).bindMemory(to: UInt64.self)
            let old = UInt64(expected) &* 0x0101_0101_0101_0101
            let new = UInt64(next) &* 0x0101_0101_0101_0101
            var whole = true
            for index in words.indices {
                if words[index] != old { whole = false }
                words[index] = new
            }
            return whole
        }
    }

    func tier(_ space: AddressSpace, _ handle: Int) -> Int { space.entry(handle).tier }

    func write(_ path: String, _ value: String) throws { _ = try tree.attribute(path).write(value) }

    func read(_ path: String) throws -> String {
        String(decoding: try tree.attribute(path).show(), as: UTF8.self).trimmingSuffix()
    }

    private static func pattern(_ handle: Int, _ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: index &* 7 &+ handle &* 13 &+ 1) }

    private func withBytes<R>(_ space: AddressSpace, _ handle: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) -> R) -> R {
        let entry = space.entry(handle)
        PinProtocol.pin(entry, in: pinTable(space))
        defer { PinProtocol.unpin(entry, in: pinTable(space)) }
        let (tier, offset) = entry.placement
        let base = bases[ObjectIdentifier(space)]![tier] + offset
        return body(UnsafeMutableBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: FolioTableLayout.bytes(order: entry.order)))
    }
}

extension String {
    fileprivate func trimmingSuffix() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}
