import Sysfs
import SystemPackage

extension DCBMDriver {
    /// Fills `dcbm/`; returns its `offloading` attribute, which a swap notifies.
    func registerKnobs(in directory: SysfsDirectory, slot: MigratorSlot) -> SysfsAttribute {
        let offloading = slot.offloadingAttribute(for: name)
        directory.add(offloading)
        directory.add(.unsigned("nr_dma_chan", range: Self.channelRange, get: { UInt32(self.channels) }, set: { (value) throws(Errno) in try self.setChannels(Int(value)) }))
        directory.add(.readOnly("engine", show: { "\(self.engine.name)\n" }))
        for counter in stats.counterAttributes() { directory.add(counter) }
        directory.add(.readOnly("timeouts") { "\(self.timedOutBatches)\n" })
        return offloading
    }
}
