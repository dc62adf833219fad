import SystemCalls
import SystemPackage

/// mtcopy's OS worker threads and the queue of byte ranges they copy.
///
/// Locking: `condition` guards `queue`, `threadCount`, `exitRequests` and `live`. Batches from
/// several callers share one queue; each waits on its own latch.
final class CopyWorkerPool: @unchecked Sendable {
    /// One worker's share of a batch: bytes `range` of the batch's folios laid end to end.
    struct Job {
        // Borrowed from the caller across threads: safe because `MTCopyDriver.copy` waits on
        // `done` until every job of its batch has run, and only then lets the buffer go.
        let folios: UnsafeBufferPointer<FolioCopy>
        let range: Range<Int>
        let done: CountdownLatch
    }

    private let name: String
    private let condition = Condition()
    private var queue: [Job] = []
    private var threadCount = 0
    private var exitRequests = 0
    private var live = 0

    /// A pool of `threads` workers, or EAGAIN (and no worker left running) when the system
    /// refuses a thread.
    init(name: String, threads: Int) throws(Errno) {
        self.name = name
        do { try resize(to: threads) } catch {
            shutdown()
            throw error
        }
    }

    /// Grows or shrinks the pool; surplus workers leave once they are idle. A growth the
    /// system refuses a thread for is undone (the workers it did start leave) and throws
    /// EAGAIN: the pool keeps its old size.
    func resize(to threads: Int) throws(Errno) {
        precondition(threads >= 1)
        condition.lock()
        defer { condition.unlock() }
        let target = threadCount
        if threads > target {
            for index in target..<threads {
                do { try startWorker(index) } catch {
                    exitRequests += index - target
                    condition.broadcast()
                    throw error
                }
            }
        } else if threads < target {
            exitRequests += target - threads
            condition.broadcast()
        }
        threadCount = threads
    }

    /// The number of workers the pool is sized for.
    var size: Int {
        condition.lock()
        defer { condition.unlock() }
        return threadCount
    }

    func submit(_ jobs: [Job]) {
        condition.lock()
        queue.append(contentsOf: jobs)
        condition.broadcast()
        condition.unlock()
    }

    /// Stops every worker and waits until all have exited.
    func shutdown() {
        condition.lock()
        exitRequests += threadCount
        threadCount = 0
        condition.broadcast()
        while live > 0 { condition.wait() }
        condition.unlock()
    }

    private func startWorker(_ index: Int) throws(Errno) {
        try OSThread.spawn(name: "\(name)/\(index)") { [self] in
            while let job = nextJob() {
                CopyFaults.counting { Self.copy(job.folios, bytes: job.range) }
                job.done.countDown()
            }
        }
        // Counted under the lock the new worker needs first, so it cannot leave before this.
        live += 1
    }

    /// The next job, or nil when this worker is asked to leave; queued work goes first.
    private func nextJob() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && exitRequests == 0 { condition.wait() }
        if !queue.isEmpty { return queue.removeFirst() }
        exitRequests -= 1
        live -= 1
        condition.broadcast()
        return nil
    }

    /// Copies the bytes `range` of the folios laid end to end, cutting folios where needed.
    static func copy(_ folios: UnsafeBufferPointer<FolioCopy>, bytes range: Range<Int>) {
        var folioStart = 0
        for folio in folios {
            let folioEnd = folioStart + folio.length
            defer { folioStart = folioEnd }
            if folioEnd <= range.lowerBound { continue }
            if folioStart >= range.upperBound { break }
            let from = max(range.lowerBound, folioStart) - folioStart
            let to = min(range.upperBound, folioEnd) - folioStart
            (folio.destination + from).copyMemory(from: folio.source + from, byteCount: to - from)
        }
    }
}
