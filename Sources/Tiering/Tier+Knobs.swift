import FolioMemory
import Sysfs
import SystemPackage

extension TieringPolicy {
    /// Adds `tiers/<name>/` for each tier: its placement is the policy's (watermarks, hot
    /// bytes), its shape the config's.
    public func registerTierKnobs(in tree: SysfsTree) {
        for tier in tiers { tier.registerKnobs(in: tree.directory("tiers/\(tier.spec.name)")) }
    }
}

extension Tier {
    /// `tiers/<name>/`: the tier's node, size, huge-page mode, free bytes, folios per order,
    /// watermarks, hot bytes and shadow bytes.
    func registerKnobs(in directory: SysfsDirectory) {
        directory.add(
            .readOnly("node") { "\(self.spec.node ?? -1)\n" },
            .readOnly("size") { "\(self.spec.sizeBytes)\n" },
            .readOnly("huge_pages") { "\(self.spec.hugePagesDescription)\n" },
            .readOnly("free_bytes") { "\(self.freeBytes)\n" },
            .readOnly("folios_per_order") { self.foliosPerOrder.map(String.init).joined(separator: " ") + "\n" },
            .readOnly("hot_bytes") { "\(self.hotBytes)\n" },
            .readOnly("shadow_bytes") { "\(self.shadows.bytes)\n" },
            watermarkAttribute("watermark_min", \.min),
            watermarkAttribute("watermark_low", \.low),
            watermarkAttribute("watermark_high", \.high)
        )
        registerNodeKnobs(in: directory)
    }

    /// Bytes, parsed as `kstrtoull(…, 0)`; EINVAL unless min ≤ low ≤ high ≤ size afterwards.
    private func watermarkAttribute(_ name: String, _ level: any WritableKeyPath<Watermarks.Levels, Int> & Sendable) -> SysfsAttribute {
        SysfsAttribute(
            name,
            mode: .knob,
            persistence: .shown,
            show: { "\(self.watermarks.current[keyPath: level])\n" },
            store: { (input) throws(Errno) in
                // Past Int.max is past the tier's size too: EINVAL, like any other.
                try self.watermarks.set(level, to: Int(clamping: try kstrtoull(input, base: 0)))
            }
        )
    }
}
