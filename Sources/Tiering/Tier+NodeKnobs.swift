import FolioMemory
import Sysfs

extension Tier {
    /// `tiers/<name>/node_bytes` (the tier's resident bytes per NUMA node, every space's memfd
    /// of it together, as the kernel's page tables say: `NodeResidency`) and
    /// `tiers/<name>/node_choice` (how its node was chosen: `config`, or what `auto` read).
    func registerNodeKnobs(in directory: SysfsDirectory) {
        directory.add(
            .readOnly("node_bytes") { NodeResidency.line(ofTier: self.spec.name) },
            .readOnly("node_choice") { "\(self.spec.nodeChoice ?? "config")\n" }
        )
    }
}
