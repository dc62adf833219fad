import Sysfs
import SystemPackage

extension MTCopyDriver {
    /// Fills `mtcopy/`; returns its `offloading` attribute, which a swap notifies.
    func registerKnobs(in directory: SysfsDirectory, slot: MigratorSlot) -> SysfsAttribute {
        let offloading = slot.offloadingAttribute(for: name)
        directory.add(offloading)
        directory.add(.unsigned("threads", range: Self.threadRange, get: { UInt32(self.threads) }, set: { (value) throws(Errno) in try self.setThreads(Int(value)) }))
        for counter in stats.counterAttributes() { directory.add(counter) }
        return offloading
    }
}
