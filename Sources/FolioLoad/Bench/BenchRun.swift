import FolioClient
import FolioProtocol
import FolioMemory
import Dispatch
import FolioSharedMemory
import FoundationEssentials
import Glibc

/// The median of `values` (0 for none).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// What one setting did in one round, next to the ceilings measured in the same round.
struct BenchSample {
    let gbps: Double
    let ceilingOneThread: Double
    let ceilingAllThreads: Double
    /// The `kernel` setting's GB/s in the same round, if the run has it.
    var kernelGBps: Double?
    let copyFraction: Double
    let overheadNanosPerFolio: Double
}

/// One cell of the table: a folio size under one migrator setting, over every round.
struct BenchCell {
    let size: Int
    let count: Int
    let setting: MigratorSetting
    let pageKind: HugePageMode
    let samples: [BenchSample]
    /// Page faults the daemon's copies took during this cell's timed moves, per GiB moved.
    let faultsPerGiB: Double
    /// Folios whose bytes were wrong after a move (with --verify).
    let verifyErrors: Int

    var gbps: Double { median(samples.map(\.gbps)) }
    var ceilingOneThread: Double { median(samples.map(\.ceilingOneThread)) }
    var ceilingAllThreads: Double { median(samples.map(\.ceilingAllThreads)) }
    /// Ratios within each round, then their median and spread across rounds.
    var ofOneThread: [Double] { samples.map { $0.gbps / $0.ceilingOneThread } }
    var ofAllThreads: [Double] { samples.map { $0.gbps / $0.ceilingAllThreads } }
    var ofKernel: [Double] { samples.compactMap { sample in sample.kernelGBps.map { sample.gbps / $0 } } }
    var copyFraction: Double { median(samples.map(\.copyFraction)) }
    var overheadNanosPerFolio: Double { median(samples.map(\.overheadNanosPerFolio)) }
}

/// Moves folios back and forth between the first two tiers for each size, the settings taken
/// round-robin: each round measures the memcpy ceilings on pages of the tier's kind, then moves
/// the folios once under each setting, so every ratio compares one moment of the machine.
final class BenchRun {
    /// A request carries at most this many handles; larger moves are several requests.
    static let maxHandlesPerRequest = 16384
    /// A run moves at most one space's folios.
    static let maxFolios = FolioTableLayout.capacity

    let target: any BenchTarget
    let sizes: [ByteSize]
    let settings: [MigratorSetting]
    let totalBytes: Int
    let fixedCount: Int?
    let reps: Int
    let verify: Bool
    private let progress: BenchProgress

    init(target: any BenchTarget, sizes: [ByteSize], settings: [MigratorSetting], totalBytes: Int, fixedCount: Int?, reps: Int, verify: Bool) {
        self.target = target
        self.sizes = sizes
        self.settings = settings
        self.totalBytes = totalBytes
        self.fixedCount = fixedCount
        self.reps = reps
        self.verify = verify
        progress = BenchProgress(cells: sizes.count * reps)
    }

    /// As many folios of `size` as the run moves, in the first tier, filled with a pattern.
    func allocateAndFill(size: Int) throws -> (handles: [FolioHandle], count: Int) {
        let capacity = target.tierSizes.prefix(2).map(\.bytes).min() ?? 0
        // What fits both tiers (less a little for other clients) and one space's table.
        let count = fixedCount ?? min(max(1, min(totalBytes, capacity / 8 * 7) / size), Self.maxFolios)
        guard count * size <= capacity else { throw BenchError("\(count) × \(ByteSize(bytes: size)) does not fit the tiers (\(capacity) bytes each)") }
        let handles = try target.allocate(tier: 0, order: try Self.order(of: size), count: count)
        do { try fill(handles, seed: UInt64(size)) } catch {
            try? target.free(handles)
            throw error
        }
        return (handles, count)
    }

    func run() throws -> [BenchCell] {
        let pageKind = try target.pageKind(tier: 1)
        var cells: [BenchCell] = []
        for size in sizes {
            let (handles, count) = try allocateAndFill(size: size.bytes)
            defer { try? target.free(handles) }
            let ceiling = try MemcpyCeiling(size: size.bytes, count: count, pageKind: pageKind)
            cells += try measure(handles, ceiling: ceiling)
        }
        progress.finish()
        return cells
    }

    /// Every setting on these folios, `reps` rounds of all of them.
    private func measure(_ handles: [FolioHandle], ceiling: MemcpyCeiling) throws -> [BenchCell] {
        var tier = 0
        // Warm-up: the first moves fault in the other tier's pages and start each setting's workers.
        for setting in settings {
            try apply(setting)
            for _ in 0..<2 {
                tier = 1 - tier
                _ = try move(handles, to: tier)
            }
        }
        var samples = Array(repeating: [BenchSample](), count: settings.count)
        var faults = Array(repeating: UInt64(0), count: settings.count)
        var verifyErrors = Array(repeating: 0, count: settings.count)
        for round in 0..<reps {
            progress.show("\(ByteSize(bytes: ceiling.size)) × \(ceiling.count), round \(round + 1) of \(reps)")
            let oneThread = ceiling.oneThread()
            let allThreads = try ceiling.allThreads()
            var kernel: Double?
            for (index, setting) in settings.enumerated() {
                try apply(setting)
                tier = 1 - tier
                let faultsBefore = try target.copyFaults()
                let (wall, copy, _) = try move(handles, to: tier)
                faults[index] += try target.copyFaults() - faultsBefore
                let gbps = Double(ceiling.size * handles.count) / Double(wall)
                if setting.name == "kernel" { kernel = gbps }
                samples[index].append(BenchSample(
                    gbps: gbps, ceilingOneThread: oneThread, ceilingAllThreads: allThreads, kernelGBps: nil,
                    copyFraction: Double(copy) / Double(max(wall, 1)), overheadNanosPerFolio: (Double(wall) - Double(copy)) / Double(handles.count)))
                if verify { verifyErrors[index] += try check(handles, seed: UInt64(ceiling.size)) }
            }
            for index in settings.indices { samples[index][round].kernelGBps = kernel }
        }
        if tier != 0 { _ = try move(handles, to: 0) }
        let gibibytesPerSetting = Double(ceiling.size * handles.count * reps) / Double(1 << 30)
        return settings.indices.map { index in
            BenchCell(size: ceiling.size, count: handles.count, setting: settings[index], pageKind: ceiling.pageKind, samples: samples[index],
                      faultsPerGiB: Double(faults[index]) / gibibytesPerSetting, verifyErrors: verifyErrors[index])
        }
    }

    func apply(_ setting: MigratorSetting) throws {
        for (path, value) in setting.knobWrites { try target.setKnob(path, value) }
    }

    /// Moves every handle to `tier`; the wall and copy nanoseconds of all its requests, and the
    /// folios left in place by a pin (EBUSY), which only `allowingBusy` tolerates: readers
    /// running beside the moves may cause them. Any other failure ends the run.
    @discardableResult
    func move(_ handles: [FolioHandle], to tier: Int, allowingBusy: Bool = false) throws -> (wall: UInt64, copy: UInt64, busy: Int) {
        var wall: UInt64 = 0
        var copy: UInt64 = 0
        var busy = 0
        for start in stride(from: 0, to: handles.count, by: Self.maxHandlesPerRequest) {
            let chunk = Array(handles[start..<min(start + Self.maxHandlesPerRequest, handles.count)])
            let begin = DispatchTime.now().uptimeNanoseconds
            let (results, copyNanos) = try target.migrate(chunk, to: tier)
            wall += DispatchTime.now().uptimeNanoseconds - begin
            copy += copyNanos
            busy += allowingBusy ? results.count { $0 == .failed(.resourceBusy) } : 0
            let failures = Set(results.filter { $0 != .tier(tier) && !(allowingBusy && $0 == .failed(.resourceBusy)) }.map { "\($0)" })
            guard failures.isEmpty else {
                throw BenchError("a migration failed: \(failures.sorted().joined(separator: ", "))")
            }
        }
        return (wall, copy, busy)
    }

    private func fill(_ handles: [FolioHandle], seed: UInt64) throws {
        for handle in handles { try target.withFolio(handle) { FolioPattern(seed: seed, handle: handle).fill($0) } }
    }

    private func check(_ handles: [FolioHandle], seed: UInt64) throws -> Int {
        try handles.reduce(0) { errors, handle in
            errors + (try target.withFolio(handle) { FolioPattern(seed: seed, handle: handle).mismatchedBytes($0) } > 0 ? 1 : 0)
        }
    }

    static func order(of size: Int) throws -> Int {
        guard let order = (0...9).first(where: { 4096 << $0 == size }) else {
            throw BenchError("folio size \(ByteSize(bytes: size)) is not 4K << 0…9")
        }
        return order
    }
}

/// A bench (or gups) that cannot go on, with why.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The line on standard error that says which cell runs.
final class BenchProgress {
    private let cells: Int
    private var done = 0
    private let interactive = isatty(STDERR_FILENO) != 0

    init(cells: Int) { self.cells = cells }

    func show(_ cell: String) {
        done += 1
        print(interactive ? "\r\u{1B}[K[\(done)/\(cells)] \(cell)" : "[\(done)/\(cells)] \(cell)", terminator: interactive ? "" : "\n", to: &standardError)
    }

    func finish() {
        if interactive { print("\r\u{1B}[K", terminator: "", to: &standardError) }
    }
}
