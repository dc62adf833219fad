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
            for (handle, record) in space.records.enumerated() {
                guard let record else { continue }
                let accesses = space.entry(handle).accesses.exchange(0, ordering: .relaxed)
                let (heat, overflow) = (space.heat[handle] >> 1).addingReportingOverflow(accesses)
                space.heat[handle] = overflow ? .max : heat
                if space.heat[handle] >= hotThreshold { hotBytes[record.tier] += record.bytes }
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
            for (handle, record) in space.records.enumerated() {
                guard let record, record.tier == tier else { continue }
                let pending = space.entry(handle).accesses.load(ordering: .relaxed)
                let aged = space.heat.indices.contains(handle) ? space.heat[handle] : 0
                let (heat, overflow) = aged.addingReportingOverflow(pending)
                folios.append(FolioHeat(handle: handle, tier: tier, bytes: record.bytes, heat: overflow ? .max : heat))
            }
            return folios
        }
    }
}
