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
                Self.copyFolio(folios[index])
                copied[index] = true
            }
        }
    }

    /// One folio's bytes, with the platform `memcpy`.
    @inline(__always)
    public static func copyFolio(_ folio: FolioCopy) {
        folio.destination.copyMemory(from: folio.source, byteCount: folio.length)
    }
}
