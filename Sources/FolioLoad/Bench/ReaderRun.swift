import Dispatch
import FolioClient
import FolioProtocol
import Synchronization
import SystemCalls

/// What readers did during one cell of `bench --readers`.
struct ReaderCell {
    let size: Int
    let count: Int
    /// The migrator setting, and `migration/transactional`; nil for the baseline, with no
    /// migration.
    let setting: MigratorSetting?
    let transactional: Bool
    let pins: UInt64
    let seconds: Double
    let waits: WaitHistogram
    /// Pins whose bytes were not the folio's.
    let wrong: UInt64
    /// Moves of every folio between the first two tiers, and their GB/s.
    let moves: Int
    let gbps: Double
    /// Folios left in place because a reader held them through every commit pass (EBUSY).
    let busy: Int

    var pinsPerSecond: Double { Double(pins) / seconds }
}

/// `bench --readers N`: N threads read-pin the batch's folios in a loop, checking two words of
/// each against its pattern, while the folios move between the first two tiers; every pin's
/// wait is recorded. Each setting runs with `migration/transactional` 0 and 1, after a
/// baseline with the same readers and no migration.
final class ReaderRun {
    let run: BenchRun
    let readers: Int
    let seconds: Double

    init(run: BenchRun, readers: Int, seconds: Double) {
        self.run = run
        self.readers = readers
        self.seconds = seconds
    }

    func measure() throws -> [ReaderCell] {
        var cells: [ReaderCell] = []
        for size in run.sizes {
            let (handles, count) = try run.allocateAndFill(size: size.bytes)
            defer { try? run.target.free(handles) }
            let seed = UInt64(size.bytes)
            cells.append(try cell(handles, seed: seed, size: size.bytes, count: count, setting: nil, transactional: false))
            for setting in run.settings {
                try run.apply(setting)
                for transactional in [false, true] {
                    try run.target.setKnob("migration/transactional", transactional ? "1" : "0")
                    cells.append(try cell(handles, seed: seed, size: size.bytes, count: count, setting: setting, transactional: transactional))
                }
            }
        }
        return cells
    }

    /// Readers on `handles` for `seconds`, the folios moving back and forth under `setting`.
    private func cell(_ handles: [FolioHandle], seed: UInt64, size: Int, count: Int, setting: MigratorSetting?, transactional: Bool) throws -> ReaderCell {
        let shared = ReaderShared()
        let reading = UnsafeTransfer(run.target)
        for reader in 0..<readers {
            let first = reader * handles.count / readers
            do {
                try OSThread.spawn(name: "bench-reader") {
                    let outcome = Self.read(reading.value, handles, seed: seed, from: first, until: shared.stop)
                    shared.results.withLock { $0.append(outcome) }
                    shared.finished.add(1, ordering: .releasing)
                }
            } catch {
                shared.stop.store(true, ordering: .relaxed)
                OSThread.backoff { shared.finished.load(ordering: .acquiring) == reader }
                throw BenchError("reader \(reader + 1) of \(readers) could not start: \(error)")
            }
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        var moves = 0
        var busy = 0
        var moveNanos: UInt64 = 0
        var failure: (any Error)?
        var tier = 0
        if setting != nil {
            while DispatchTime.now().uptimeNanoseconds < deadline {
                do {
                    tier = 1 - tier
                    let (nanos, _, pinned) = try run.move(handles, to: tier, allowingBusy: true)
                    moveNanos += nanos
                    busy += pinned
                    moves += 1
                } catch {
                    failure = error
                    break
                }
            }
        } else {
            OSThread.sleep(.nanoseconds(Int(deadline - start)))
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        shared.stop.store(true, ordering: .relaxed)
        OSThread.backoff { shared.finished.load(ordering: .acquiring) == readers }
        // Every folio back in the first tier, once no reader holds one.
        if tier != 0 { _ = try? run.move(handles, to: 0) }
        if let failure { throw failure }
        let outcomes = shared.results.withLock { $0 }
        if let error = outcomes.compactMap(\.error).first { throw BenchError("a reader failed: \(error)") }
        var waits = WaitHistogram()
        outcomes.forEach { waits.merge($0.waits) }
        return ReaderCell(size: size, count: count, setting: setting, transactional: transactional,
                          pins: outcomes.reduce(0) { $0 + $1.pins }, seconds: elapsed, waits: waits,
                          wrong: outcomes.reduce(0) { $0 + $1.wrong }, moves: moves,
                          gbps: moves == 0 ? 0 : Double(size * (count * moves - busy)) / Double(max(moveNanos, 1)), busy: busy)
    }

    /// One reader: pins each folio in turn, from `first`, and checks the first word and one
    /// that walks through the folio.
    private static func read(_ target: any BenchTarget, _ handles: [FolioHandle], seed: UInt64, from first: Int, until stop: borrowing Atomic<Bool>) -> ReaderOutcome {
        var waits = WaitHistogram()
        var pins: UInt64 = 0
        var wrong: UInt64 = 0
        var next = first
        do {
            while !stop.load(ordering: .relaxed) {
                let handle = handles[next % handles.count]
                let pattern = FolioPattern(seed: seed, handle: handle)
                let asked = DispatchTime.now().uptimeNanoseconds
                try target.withReadFolio(handle) { bytes in
                    waits.record(DispatchTime.now().uptimeNanoseconds - asked)
                    let words = bytes.bindMemory(to: UInt64.self)
                    let walking = Int(pins &* 97) % words.count
                    if words[0] != pattern.word(0) || words[walking] != pattern.word(walking) { wrong += 1 }
                }
                pins += 1
                next += 1
            }
        } catch {
            return (pins, wrong, waits, "\(error)")
        }
        return (pins, wrong, waits, nil)
    }

    /// The table: per size, the baseline, then each setting with `transactional` 0 and 1.
    static func table(_ cells: [ReaderCell], readers: Int) -> String {
        let header = ["size", "count", "migrator", "tx", "pins/s", "of idle", "wait p50", "p99", "max", "moves", "GB/s", "busy", "wrong"]
        var rows: [[String]] = []
        var idle = 1.0
        for cell in cells {
            if cell.setting == nil { idle = max(cell.pinsPerSecond, 1) }
            rows.append([ByteSize(bytes: cell.size).description, String(cell.count), cell.setting?.description ?? "(no migration)",
                         cell.setting == nil ? "" : (cell.transactional ? "1" : "0"),
                         fixed(cell.pinsPerSecond / 1e6, digits: 2) + "M", fixed(cell.pinsPerSecond / idle, digits: 2),
                         nanos(cell.waits.percentile(0.5)), nanos(cell.waits.percentile(0.99)), nanos(cell.waits.max),
                         String(cell.moves), cell.setting == nil ? "" : fixed(cell.gbps, digits: 2), String(cell.busy), String(cell.wrong)])
        }
        return (["\(readers) readers, read pins; wait: from the pin call to the pin held"] + [""]
                + BenchReport.aligned([header] + rows, textColumns: 4)).joined(separator: "\n") + "\n"
    }

    private static func nanos(_ value: UInt64) -> String {
        switch value {
        case ..<10_000: "\(value) ns"
        case ..<10_000_000: "\(value / 1000) µs"
        default: "\(value / 1_000_000) ms"
        }
    }
}

/// What one reader thread did.
private typealias ReaderOutcome = (pins: UInt64, wrong: UInt64, waits: WaitHistogram, error: String?)

/// What the readers of one cell share with the run.
private final class ReaderShared: Sendable {
    let stop = Atomic<Bool>(false)
    let finished = Atomic<Int>(0)
    let results = Mutex<[ReaderOutcome]>([])
}

/// Hands a target to reader threads: the bench's targets take concurrent pins (the client's
/// pins take no lock), and the run outlives every reader.
private struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
