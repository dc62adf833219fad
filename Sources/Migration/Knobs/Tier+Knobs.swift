import FolioMemory
import Sysfs

extension Tier {
    /// `tiers/<name>/`: the tier's node, size, huge-page mode, free bytes and folios per order.
    func registerKnobs(in directory: SysfsDirectory) {
        directory.add(
            .readOnly("node") { "\(self.spec.node ?? -1)\n" },
            .readOnly("size") { "\(self.spec.sizeBytes)\n" },
            .readOnly("huge_pages") { "\(self.spec.hugePagesDescription)\n" },
            .readOnly("free_bytes") { "\(self.freeBytes)\n" },
            .readOnly("folios_per_order") { self.foliosPerOrder.map(String.init).joined(separator: " ") + "\n" }
        )
    }
}
