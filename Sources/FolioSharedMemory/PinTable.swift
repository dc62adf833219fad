import Atomics
import SystemCalls
import SystemPackage

/// One attachment's pin counts: a `UInt32` per handle in a memfd that the attached client maps.
///
/// Pins live per attachment, not in the shared folio table, because shared memory outlives the
/// process that wrote it: a client killed while it holds a pin would leave the count raised for
/// ever. With a table per attachment, the daemon drops a closed session's table and its pins
/// stop counting; a freeze reads the folio's counter in every table still attached.
///
/// Each counter holds two counts: write pins in its low 16 bits, read pins in its high 16 (a
/// read pin adds `readPin`). A freeze needs the whole word 0; a transactional copy needs only
/// the low half 0 to start (`writePinMask`). A client that took pins before read pins existed
/// adds 1 per pin, so every one of its pins counts as a write, as it must.
public final class PinTable: @unchecked Sendable {
    /// Bytes per counter; counters are packed (a client's own pins share lines, nobody else's).
    public static let counterBytes = 4
    /// The table's size in bytes: one counter per handle.
    public static let tableBytes = counterBytes * FolioTableLayout.capacity

    /// What a write pin adds to its counter, and the half that counts them.
    public static let writePin: UInt32 = 1
    public static let writePinMask: UInt32 = 0xFFFF
    /// What a read pin adds to its counter.
    public static let readPin: UInt32 = 1 << 16

    /// The memfd a client maps, or nil for a table in private memory (tests, in-process use).
    public let fd: FileDescriptor?
    private let base: UnsafeMutableRawPointer
    private let release: () -> Void

    /// A new, zeroed table in a memfd of its own, mapped here.
    public static func shared(name: String) throws(SystemCallError) -> PinTable {
        let fd = try SharedMemory.anonymousFile(name: name, bytes: tableBytes)
        do {
            let base = try SharedMemory.mapShared(fd, length: tableBytes)
            return PinTable(fd: fd, base: base) {
                SharedMemory.unmap(base, length: tableBytes)
                try? fd.close()
            }
        } catch {
            try? fd.close()
            throw error
        }
    }

    /// A client's mapping of the table the daemon passed it (`fd` is not kept).
    public static func mapped(_ fd: FileDescriptor) throws(SystemCallError) -> PinTable {
        let base = try SharedMemory.mapShared(fd, length: tableBytes)
        return PinTable(fd: nil, base: base) { SharedMemory.unmap(base, length: tableBytes) }
    }

    /// A table in private memory, for a space used inside one process.
    public static func local() -> PinTable {
        let base = UnsafeMutableRawPointer.allocate(byteCount: tableBytes, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: tableBytes)
        return PinTable(fd: nil, base: base) { base.deallocate() }
    }

    private init(fd: FileDescriptor?, base: UnsafeMutableRawPointer, release: @escaping () -> Void) {
        self.fd = fd
        self.base = base
        self.release = release
    }

    deinit { release() }

    /// The pin counter of `handle` in this table.
    public func counter(_ handle: Int) -> UnsafeAtomic<UInt32> {
        precondition(handle >= 0 && handle < FolioTableLayout.capacity, "handle \(handle) out of range")
        return UnsafeAtomic(at: (base + handle * Self.counterBytes).assumingMemoryBound(to: UnsafeAtomic<UInt32>.Storage.self))
    }
}
