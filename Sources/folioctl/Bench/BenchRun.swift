import FolioClient
import FolioMemory
import Dispatch
import FoundationEssentials
import Glibc

/// One cell of the table: a folio size under one migrator setting.
struct BenchCell {
    let size: Int
    let count: Int
    let setting: MigratorSetting
    /// GB/s of each timed repetition.
    let rates: [Double]
    /// Share of the request time the migrator spent copying (the series' F).
    let copyFraction: Double
    /// Median over repetitions of (request time − copy time) per folio, in nanoseconds.
    let overheadNanosPerFolio: Double
    let ceiling: MemcpyCeiling
    /// Folios whose bytes were wrong after a move (with --verify).
    let verifyErrors: Int

    var mean: Double { rates.reduce(0, +) / Double(max(rates.count, 1)) }

    var standardDeviation: Double {
        guard rates.count > 1 else { return 0 }
        let mean = mean
        return (rates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rates.count - 1)).squareRoot()
    }
}

/// Moves folios back and forth between the first two tiers for each size and setting, timing
/// every request from the client's side.
final class BenchRun {
    /// A request carries at most this many handles; larger moves are several requests.
    static let maxHandlesPerRequest = 16384

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
        progress = BenchProgress(cells: sizes.count * settings.count)
    }

    func run() throws -> [BenchCell] {
        let capacity = target.tierSizes.prefix(2).map(\.bytes).min() ?? 0
        var cells: [BenchCell] = []
        for size in sizes {
            let order = try Self.order(of: size.bytes)
            // What fits both tiers (less a little for other clients) and one space's table.
            let count = fixedCount ?? min(max(1, min(totalBytes, capacity / 8 * 7) / size.bytes), FolioTableLayout.capacity)
            guard count * size.bytes <= capacity else { throw BenchError("\(count) × \(size) does not fit the tiers (\(capacity) bytes each)") }
            let handles = try target.allocate(tier: 0, order: order, count: count)
            defer { try? target.free(handles) }
            try fill(handles, seed: UInt64(size.bytes))
            let ceiling = try MemcpyCeiling.measure(size: size.bytes, count: count, reps: reps)
            for setting in settings {
                progress.show("\(size) × \(count) on \(setting)")
                cells.append(try measure(handles, size: size.bytes, setting: setting, ceiling: ceiling))
            }
        }
        progress.finish()
        return cells
    }

    private func measure(_ handles: [FolioHandle], size: Int, setting: MigratorSetting, ceiling: MemcpyCeiling) throws -> BenchCell {
        for (path, value) in setting.knobWrites { try target.setKnob(path, value) }
        var tier = 0
        // Warm-up: the first move faults in the other tier's pages and starts the workers.
        for _ in 0..<2 {
            tier = 1 - tier
            _ = try move(handles, to: tier)
        }
        var rates: [Double] = []
        var overheads: [Double] = []
        var copyNanos: UInt64 = 0
        var wallNanos: UInt64 = 0
        var verifyErrors = 0
        for _ in 0..<reps {
            tier = 1 - tier
            let (wall, copy) = try move(handles, to: tier)
            rates.append(Double(size * handles.count) / Double(wall))
            overheads.append((Double(wall) - Double(copy)) / Double(handles.count))
            copyNanos += copy
            wallNanos += wall
            if verify { verifyErrors += try check(handles, seed: UInt64(size)) }
        }
        if tier != 0 { _ = try move(handles, to: 0) }
        return BenchCell(
            size: size, count: handles.count, setting: setting, rates: rates,
            copyFraction: Double(copyNanos) / Double(max(wallNanos, 1)),
            overheadNanosPerFolio: overheads.sorted()[overheads.count / 2], ceiling: ceiling, verifyErrors: verifyErrors
        )
    }

    /// Moves every handle to `tier`; the wall and copy nanoseconds of all its requests.
    private func move(_ handles: [FolioHandle], to tier: Int) throws -> (wall: UInt64, copy: UInt64) {
        var wall: UInt64 = 0
        var copy: UInt64 = 0
        for start in stride(from: 0, to: handles.count, by: Self.maxHandlesPerRequest) {
            let chunk = Array(handles[start..<min(start + Self.maxHandlesPerRequest, handles.count)])
            let begin = DispatchTime.now().uptimeNanoseconds
            let (results, copyNanos) = try target.migrate(chunk, to: tier)
            wall += DispatchTime.now().uptimeNanoseconds - begin
            copy += copyNanos
            let failures = Set(results.filter { $0 != .tier(tier) }.map { "\($0)" })
            guard failures.isEmpty else {
                throw BenchError("a migration failed: \(failures.sorted().joined(separator: ", "))")
            }
        }
        return (wall, copy)
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

/// A bench that cannot go on, with why.
struct BenchError: Error, CustomStringConvertible {
    let description: String
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
