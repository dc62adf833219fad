import Synchronization
import SystemPackage

/// `mtcopy`: splits each batch's bytes evenly among a pool of `threads` OS threads.
///
/// The batch is treated as its folios' bytes laid end to end and cut into `threads` ranges, so
/// the shares are equal whatever the folio sizes, and a folio is cut into chunks whenever there
/// are fewer folios than threads. Cuts fall on cache-line boundaries so that two workers never
/// write one line; the last range ends at the batch's last byte, so remainders are copied too.
public final class MTCopyDriver: Migrator {
    /// What `mtcopy/threads` accepts.
    public static let threadRange: ClosedRange<UInt32> = 1...64
    /// Cuts between workers are aligned to this many bytes.
    static let cutAlignment = 64

    public let name = "mtcopy"
    public let stats = MigratorStats()
    private let requestedThreads: Atomic<Int>
    private let pool = Mutex<CopyWorkerPool?>(nil)

    /// A driver whose pool will have `threads` workers once activated.
    public init(threads: Int = 4) {
        precondition(Self.threadRange.contains(UInt32(threads)))
        requestedThreads = Atomic(threads)
    }

    /// The `threads` knob; a change takes effect from the next batch.
    public var threads: Int { requestedThreads.load(ordering: .relaxed) }

    /// Stores the `threads` knob. While active the pool is resized here, in the knob's store
    /// and outside any batch, so a thread the system refuses is the writer's EAGAIN and the
    /// old count stays; a batch never starts threads.
    public func setThreads(_ count: Int) throws(Errno) {
        precondition(Self.threadRange.contains(UInt32(count)))
        try pool.withLock { (pool) throws(Errno) in
            try pool?.resize(to: count)
            requestedThreads.store(count, ordering: .relaxed)
        }
    }

    /// Workers in the pool now (0 while inactive); lags `threads` until the next batch.
    var poolSize: Int { pool.withLock { $0?.size ?? 0 } }

    /// Starts the pool, or EAGAIN (and stays inactive) when the system refuses a thread.
    public func activate() throws(Errno) {
        // `threads` read under the pool's lock, which `setThreads` stores under: a count set
        // meanwhile is either seen here or resizes the pool made here.
        try pool.withLock { (pool) throws(Errno) in
            if pool == nil { pool = try CopyWorkerPool(name: "mtcopy", threads: threads) }
        }
    }

    public func deactivate() {
        pool.withLock { pool in
            pool?.shutdown()
            pool = nil
        }
    }

    public func copy(_ folios: UnsafeBufferPointer<FolioCopy>, copied: UnsafeMutableBufferPointer<Bool>) {
        // Not active: copy nothing, and the slot's fallback copies every folio.
        guard let pool = pool.withLock({ $0 }), !folios.isEmpty else { return }
        let workers = threads
        let ranges = Self.split(totalBytes: folios.reduce(0) { $0 + $1.length }, parts: workers)
        let done = CountdownLatch(count: ranges.count)
        pool.submit(ranges.map { CopyWorkerPool.Job(folios: folios, range: $0, done: done) })
        done.wait()
        copied.update(repeating: true)
    }

    /// `parts` contiguous ranges covering `0..<totalBytes`, equal up to the cache-line cut;
    /// empty ranges (a batch smaller than `parts` lines) are left out.
    static func split(totalBytes: Int, parts: Int) -> [Range<Int>] {
        let cuts = (0...parts).map { part in
            part == parts ? totalBytes : (totalBytes * part / parts) & ~(cutAlignment - 1)
        }
        return (0..<parts).map { cuts[$0]..<cuts[$0 + 1] }.filter { !$0.isEmpty }
    }
}
