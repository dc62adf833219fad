import SystemPackage

/// `kernel`: the default copier, folio by folio on the calling thread, as `folio_copy()`.
/// It is also the fallback for every folio another migrator did not copy.
public final class KernelCopyDriver: Migrator {
    public let name = "kernel"
    public let stats = MigratorStats()

    public init() {}

    public func activate() throws(Errno) {}
    public func deactivate() {}

    public func copy(_ folios: UnsafeBufferPointer<FolioCopy>, copied: UnsafeMutableBufferPointer<Bool>) {
        CopyFaults.counting {
            for index in folios.indices {
                folios[index].copy()
                copied[index] = true
            }
        }
    }
}
