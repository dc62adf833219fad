import SystemPackage

/// One folio to copy: `length` bytes from `source` to `destination`, which do not overlap.
///
/// `@unchecked Sendable` (raw pointers are not): a batch hands its copies to worker threads and
/// DMA channels, and keeps both blocks allocated and the folio frozen until every copier has
/// returned, so no thread ever uses a pointer past its block's life.
public struct FolioCopy: @unchecked Sendable {
    /// The folio's current bytes.
    public var source: UnsafeRawPointer
    /// Where the folio moves to.
    public var destination: UnsafeMutableRawPointer
    /// The folio's size in bytes (4 KiB << order).
    public var length: Int

    public init(source: UnsafeRawPointer, destination: UnsafeMutableRawPointer, length: Int) {
        self.source = source
        self.destination = destination
        self.length = length
    }

    /// Copies the folio's bytes with the platform `memcpy`, on the calling thread: what every
    /// engine that copies with the CPU does per folio (`folio_copy()`).
    @inline(__always)
    public func copy() {
        destination.copyMemory(from: source, byteCount: length)
    }
}

/// A copy engine the migrator slot can bind, the `_folios_copy` static call's target.
///
/// The slot calls `activate()` before it publishes a migrator and `deactivate()` only after the
/// grace period, when no batch still copies with it: a driver may create its threads or request
/// its channels in one and release them in the other without further locking.
public protocol Migrator: AnyObject, Sendable {
    /// The name the knobs use (`kernel`, `mtcopy`, `dcbm`).
    var name: String { get }
    /// Folios copied and folios that fell back to `kernel`.
    var stats: MigratorStats { get }
    /// Acquires what copying needs; a failure leaves the slot unchanged.
    func activate() throws(Errno)
    /// Releases what `activate()` acquired; no `copy` runs during or after it.
    func deactivate()
    /// Copies the batch and sets `copied[i]` for each folio it copied completely. Folios left
    /// `false` are copied again by the slot's fallback; a driver never fails a batch as a whole.
    func copy(_ folios: UnsafeBufferPointer<FolioCopy>, copied: UnsafeMutableBufferPointer<Bool>)
}
