import FolioClient
import Foundation

/// What the bench drives: a daemon through its socket and mount, or the core in-process. Both
/// take the same knob writes and the same requests.
protocol BenchTarget: AnyObject {
    /// The tiers' names and capacities, in order.
    var tierSizes: [(name: String, bytes: Int)] { get }
    /// Writes a knob as `echo VALUE > MOUNT/PATH` would.
    func setKnob(_ path: String, _ value: String) throws
    func allocate(tier: Int, order: Int, count: Int) throws -> [Int]
    /// Moves `handles` to `tier`; the nanoseconds the migrator spent copying.
    func migrate(_ handles: [Int], to tier: Int) throws -> (status: [Int32], copyNanos: UInt64)
    /// Runs `body` on each folio's bytes, pinned.
    func withFolio<R>(_ handle: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R
    func free(_ handles: [Int]) throws
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
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: mount + "/" + path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data((value + "\n").utf8))
    }

    func allocate(tier: Int, order: Int, count: Int) throws -> [Int] {
        try stride(from: 0, to: count, by: BenchRun.maxHandlesPerRequest).flatMap { start in
            try client.allocate(tier: tier, order: order, count: min(BenchRun.maxHandlesPerRequest, count - start))
        }
    }

    func migrate(_ handles: [Int], to tier: Int) throws -> (status: [Int32], copyNanos: UInt64) {
        let reply = try client.migrate(handles, to: tier)
        return (reply.status, reply.copyNanos)
    }

    func withFolio<R>(_ handle: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        try client.withPinnedFolio(handle, body)
    }

    func free(_ handles: [Int]) throws {
        for start in stride(from: 0, to: handles.count, by: BenchRun.maxHandlesPerRequest) {
            _ = try client.free(Array(handles[start..<min(start + BenchRun.maxHandlesPerRequest, handles.count)]))
        }
    }
}
