/// One folio as the tiering policy ranks it.
public struct FolioHeat: Sendable, Equatable {
    public var handle: Int
    public var tier: Int
    public var bytes: Int
    /// Decayed pins: halved at each aggregation, plus the pins since.
    public var heat: UInt32
}

extension AddressSpace {
    /// Ends an aggregation interval (DAMON's `aggr_interval`): takes each folio's access count
    /// from its shared entry, resetting it, and folds it into the folio's heat, which halves
    /// first, so a folio's heat is about twice its pins per interval and fades by half each
    /// interval it is left alone. Returns, per tier, the bytes whose heat is at least
    /// `hotThreshold`. Holds the space's lock for one pass over its handles.
    public func age(hotThreshold: UInt32) -> [Int] {
        locked { metadata in
            let space = metadata.space
            var hotBytes = [Int](repeating: 0, count: space.tiers.count)
            if space.heat.count < space.records.count { space.heat += [UInt32](repeating: 0, count: space.records.count - space.heat.count) }
            // Through buffers: this runs over every folio of every space each interval, and
            // element access to a class's arrays checks exclusivity and uniqueness each time.
            space.records.withUnsafeBufferPointer { records in
                space.heat.withUnsafeMutableBufferPointer { heat in
                    for (handle, record) in records.enumerated() {
                        guard let record else { continue }
                        let accesses = space.entry(handle).accesses.exchange(0, ordering: .relaxed)
                        heat[handle] = Self.saturating(heat[handle] >> 1, plus: accesses)
                        if heat[handle] >= hotThreshold { hotBytes[record.tier] += record.bytes }
                    }
                }
            }
            return hotBytes
        }
    }

    /// The space's folios in `tier` with their heat now: the last aggregation's plus the pins
    /// counted since (read, not reset).
    public func heatMap(tier: Int) -> [FolioHeat] {
        locked { metadata in
            let space = metadata.space
            var folios: [FolioHeat] = []
            space.records.withUnsafeBufferPointer { records in
                space.heat.withUnsafeBufferPointer { heat in
                    for (handle, record) in records.enumerated() {
                        guard let record, record.tier == tier else { continue }
                        let pending = space.entry(handle).accesses.load(ordering: .relaxed)
                        let aged = handle < heat.count ? heat[handle] : 0
                        folios.append(FolioHeat(handle: handle, tier: tier, bytes: record.bytes, heat: Self.saturating(aged, plus: pending)))
                    }
                }
            }
            return folios
        }
    }

    private static func saturating(_ heat: UInt32, plus accesses: UInt32) -> UInt32 {
        let (sum, overflow) = heat.addingReportingOverflow(accesses)
        return overflow ? .max : sum
    }
}
