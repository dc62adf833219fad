import FolioClient
import FolioProtocol
import FolioMemory
import Dispatch
import FoundationEssentials

/// What the bench drives: a daemon through its socket and mount, or the core in-process. Both
/// take the same knob writes and the same requests.
protocol BenchTarget: AnyObject {
    /// The tiers' names and capacities, in order.
    var tierSizes: [(name: String, bytes: Int)] { get }
    /// Writes a knob as `echo VALUE > MOUNT/PATH` would.
    func setKnob(_ path: String, _ value: String) throws
    func allocate(tier: Int, order: Int, count: Int) throws -> [FolioHandle]
    /// Moves `handles` to `tier`; the nanoseconds the migrator spent copying.
    func migrate(_ handles: [FolioHandle], to tier: Int) throws -> (results: [FolioResult], copyNanos: UInt64)
    /// Runs `body` on each folio's bytes, pinned.
    func withFolio<R>(_ handle: FolioHandle, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R
    /// Runs `body` on a folio's bytes under a read pin; called from several threads at once.
    func withReadFolio<R>(_ handle: FolioHandle, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    func free(_ handles: [FolioHandle]) throws
    /// How tier `tier`'s memory is backed, so the ceiling copies the same kind of pages.
    func pageKind(tier: Int) throws -> HugePageMode
    /// `migration/stats/copy_faults`.
    func copyFaults() throws -> UInt64
    /// What a knob shows, without its newline.
    func knob(_ path: String) throws -> String
}

/// A running daemon: requests over the socket, knobs through the mounted tree.
final class DaemonBenchTarget: BenchTarget {
    private let client: FolioClient
    private let mount: String

    init(socket: String, mount: String) throws {
        client = try FolioClient(socketPath: socket)
        self.mount = mount
    }

    var tierSizes: [(name: String, bytes: Int)] { client.tiers.map { ($0.name, Int($0.sizeBytes)) } }

    func setKnob(_ path: String, _ value: String) throws {
        try writeKnob(mount + "/" + path, value)
    }

    func pageKind(tier: Int) throws -> HugePageMode {
        let path = mount + "/tiers/" + client.tiers[tier].name + "/huge_pages"
        // `thp (auto)`: the mode is the first word.
        let mode = try readKnob(path).split(separator: " ").first.map(String.init) ?? ""
        guard let kind = HugePageMode(rawValue: mode) else { throw BenchError("\(path) reads '\(mode)'") }
        return kind
    }

    func copyFaults() throws -> UInt64 {
        try client.stats()["copy_faults"] ?? 0
    }

    func knob(_ path: String) throws -> String {
        try readKnob(mount + "/" + path)
    }

    func allocate(tier: Int, order: Int, count: Int) throws -> [FolioHandle] {
        try stride(from: 0, to: count, by: BenchRun.maxHandlesPerRequest).flatMap { start in
            try client.allocate(tier: tier, order: order, count: min(BenchRun.maxHandlesPerRequest, count - start))
        }
    }

    func migrate(_ handles: [FolioHandle], to tier: Int) throws -> (results: [FolioResult], copyNanos: UInt64) {
        let outcome = try client.migrate(handles, to: tier)
        return (outcome.results, outcome.copyNanos)
    }

    func withFolio<R>(_ handle: FolioHandle, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        try client.withPinnedFolio(handle, body)
    }

    func withReadFolio<R>(_ handle: FolioHandle, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try client.withReadPinnedFolio(handle, body)
    }

    func free(_ handles: [FolioHandle]) throws {
        for start in stride(from: 0, to: handles.count, by: BenchRun.maxHandlesPerRequest) {
            _ = try client.free(Array(handles[start..<min(start + BenchRun.maxHandlesPerRequest, handles.count)]))
        }
    }
}
