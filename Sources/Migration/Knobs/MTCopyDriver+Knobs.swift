import Sysfs

extension MTCopyDriver {
    /// Fills `mtcopy/`; returns its `offloading` attribute, which a swap notifies.
    func registerKnobs(in directory: SysfsDirectory, slot: MigratorSlot) -> SysfsAttribute {
        let offloading = slot.offloadingAttribute(for: name)
        directory.add(offloading)
        directory.add(.unsigned("threads", range: Self.threadRange, get: { UInt32(self.threads) }, set: { self.threads = Int($0) }))
        for counter in stats.counterAttributes() { directory.add(counter) }
        return offloading
    }
}
