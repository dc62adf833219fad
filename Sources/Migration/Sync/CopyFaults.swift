import FolioMemory
import Synchronization

/// Page faults taken while copying folios, by the threads that copy: the batch's own thread
/// (kernel, the fallback), mtcopy's workers and the DMA channels each count their own
/// (`getrusage(RUSAGE_THREAD)` around their part of a batch, not around each folio), so other
/// threads' faults never count. One counter for the process; a batch reads its difference.
enum CopyFaults {
    private static let total = Atomic<Int>(0)

    /// Faults counted so far.
    static var count: Int { total.load(ordering: .relaxed) }

    /// Runs `body`, a copy on the calling thread, and counts the faults it took.
    @inline(__always)
    static func counting<R>(_ body: () -> R) -> R {
        let before = MemorySystem.threadPageFaults()
        defer {
            let faults = MemorySystem.threadPageFaults() - before
            if faults > 0 { total.add(faults, ordering: .relaxed) }
        }
        return body()
    }
}
