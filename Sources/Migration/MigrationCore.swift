import FolioMemory
import Sysfs

/// The migration core as one object: the three drivers and the slot that binds them. It runs
/// embedded in any process; the daemon adds only the socket and the knob mount.
public final class MigrationCore: Sendable {
    /// The default copier and everyone's fallback.
    public let kernel = KernelCopyDriver()
    /// The multi-threaded CPU copier.
    public let mtcopy: MTCopyDriver
    /// The DMA-engine batch copier.
    public let dcbm: DCBMDriver
    /// `debug/fail_dma`: faults the software DMA engine injects into descriptors.
    public let dmaFaults = FaultInjector()
    /// Which migrator copies the next batch.
    public let slot: MigratorSlot
    /// The batch pipeline, which copies through `slot`.
    public let pipeline: MigrationPipeline

    /// A core with the `software` DMA engine, or the engine `makeEngine` builds.
    public init(
        makeEngine: (FaultInjector) -> any DMAEngine = { SoftwareDMAEngine(faults: $0) },
        dmaTimeout: Duration = DCBMDriver.defaultTimeout
    ) {
        mtcopy = MTCopyDriver()
        dcbm = DCBMDriver(engine: makeEngine(dmaFaults), timeout: dmaTimeout)
        slot = MigratorSlot(fallback: kernel, offload: [mtcopy, dcbm])
        pipeline = MigrationPipeline(slot: slot)
    }

    /// Adds `dcbm/`, `mtcopy/`, `migration/`, `debug/fail_dma/` and `module/dcbm/parameters/`
    /// to `tree`.
    public func registerKnobs(in tree: SysfsTree) {
        let offloadMigrator = slot.offloadMigratorAttribute()
        tree.directory("migration").add(offloadMigrator)
        pipeline.registerKnobs(in: tree.directory("migration"))
        let mtcopyOffloading = mtcopy.registerKnobs(in: tree.directory("mtcopy"), slot: slot)
        let dcbmOffloading = dcbm.registerKnobs(in: tree.directory("dcbm"), slot: slot)
        dmaFaults.registerKnobs(in: tree.directory("debug/fail_dma"))
        registerModuleParameters(in: tree.directory("module/dcbm/parameters"), from: tree)
        // Only the knobs whose shown value changed: `offload_migrator` always, `offloading`
        // of the migrator retired and of the one bound (a poller of a third sees no change).
        let offloading = [mtcopy.name: mtcopyOffloading, dcbm.name: dcbmOffloading]
        slot.onSwap { from, to in
            offloadMigrator.notify()
            for name in Set([from, to]) { offloading[name]?.notify() }
        }
    }

    /// The series' sixth version moved dcbm's knobs to `/sys/module/dcbm/parameters/`: the
    /// same attributes appear there too (one object under two names, so a store through
    /// either is the other's change, and a poller of either wakes).
    private func registerModuleParameters(in parameters: SysfsDirectory, from tree: SysfsTree) {
        for path in ["dcbm/offloading", "dcbm/nr_dma_chan", "migration/reason_mask", "dcbm/folios_migrated", "dcbm/folios_failures"] {
            // Each was registered just above: a missing one is a programming error.
            parameters.add(try! tree.attribute(path))
        }
    }
}
