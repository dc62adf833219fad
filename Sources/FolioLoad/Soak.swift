import FolioClient
import Dispatch
import SystemCalls
import FoundationEssentials
import Synchronization
import SystemPackage

/// One soak run (`foliobench soak`): many sessions migrating at once while the knobs change
/// under them, for a bounded time. `sessions` OS threads, each a client moving its folios back
/// and forth and checking their bytes, and one thread switching migrators; it reports what was
/// served, the latency of each request and every error.
public final class SoakRun: Sendable {
    public struct Report: Sendable {
        public var sessions = 0
        public var requests = 0
        public var batches: UInt64 = 0
        public var latencies: [UInt64] = []
        public var errors = 0
        public var bytesVerified = 0
        /// How long each migrator switch (a write to offload_migrator) took: the grace period.
        public var switchLatencies: [UInt64] = []

        /// The report as `key: value` lines.
        public var text: String {
            func percentile(_ values: [UInt64], _ p: Double) -> Double {
                let sorted = values.sorted()
                return sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
            }
            return """
                sessions: \(sessions)
                requests: \(requests)
                batches_served: \(batches)
                p50_batch_latency_us: \(fixed(percentile(latencies, 0.50), digits: 1))
                p99_batch_latency_us: \(fixed(percentile(latencies, 0.99), digits: 1))
                max_batch_latency_us: \(fixed(Double(latencies.max() ?? 0) / 1000, digits: 1))
                migrator_switches: \(switchLatencies.count)
                p50_switch_us: \(fixed(percentile(switchLatencies, 0.50), digits: 1))
                max_switch_us: \(fixed(Double(switchLatencies.max() ?? 0) / 1000, digits: 1))
                bytes_verified: \(bytesVerified)
                errors: \(errors)
                """
        }
    }

    private let socket: String
    private let sessions: Int
    private let folios: Int
    private let seconds: Double
    private let report = Mutex(Report())
    private let running = Atomic<Bool>(true)

    public init(socket: String, sessions: Int, folios: Int, seconds: Double) {
        self.socket = socket
        self.sessions = sessions
        self.folios = folios
        self.seconds = seconds
    }

    /// Runs for `seconds`, switching migrators through the knob tree at `mount` if given.
    public func start(mount: String?) throws -> Report {
        let before = try batchesServed()
        let group = DispatchGroup()
        // Whatever started is stopped and waited for, also when a thread is refused.
        defer {
            running.store(false, ordering: .relaxed)
            group.wait()
        }
        for session in 0..<sessions {
            try Self.spawn("soak-session", in: group) { [self] in serve(session) }
        }
        if let mount {
            try Self.spawn("soak-switcher", in: group) { [self] in switchKnobs(mount) }
        }
        OSThread.sleep(.milliseconds(Int(seconds * 1000)))
        running.store(false, ordering: .relaxed)
        group.wait()
        var result = report.withLock { $0 }
        result.batches = try batchesServed() - before
        return result
    }

    /// Runs `body` on a thread of its own counted in `group`; a thread the system refuses
    /// leaves the group as it was and throws EAGAIN.
    private static func spawn(_ name: String, in group: DispatchGroup, _ body: @escaping @Sendable () -> Void) throws(Errno) {
        group.enter()
        do {
            try OSThread.spawn(name: name) {
                defer { group.leave() }
                body()
            }
        } catch {
            group.leave()
            throw error
        }
    }

    private func serve(_ session: Int) {
        guard let client = try? FolioClient(socketPath: socket),
              let handles = try? client.allocate(tier: 0, order: session % 5, count: folios) else {
            report.withLock { $0.errors += 1 }
            return
        }
        report.withLock { $0.sessions += 1 }
        var local = Report()
        do {
            for handle in handles { try client.withPinnedFolio(handle) { FolioPattern(seed: UInt64(session), handle: handle).fill($0) } }
            var target = 1
            while running.load(ordering: .relaxed) {
                let start = DispatchTime.now().uptimeNanoseconds
                // As the tiering policy would: up is a promotion (a shadow stays behind), down a
                // demotion (to the shadow, while the folio is clean).
                let results = try client.migrate(handles, to: target, reason: target == 0 ? .promotion : .demotion).results
                local.latencies.append(DispatchTime.now().uptimeNanoseconds - start)
                local.requests += 1
                local.errors += results.count { $0 != .tier(target) }
                for handle in handles {
                    // A read pin: the check leaves the shadow valid.
                    let wrong = try client.withReadPinnedFolio(handle) { folio in
                        local.bytesVerified += folio.count
                        return FolioPattern(seed: UInt64(session), handle: handle).mismatchedBytes(folio)
                    }
                    if wrong > 0 { local.errors += 1 }
                }
                target = 1 - target
            }
        } catch {
            local.errors += 1
        }
        report.withLock { report in
            report.requests += local.requests
            report.errors += local.errors
            report.bytesVerified += local.bytesVerified
            report.latencies += local.latencies
        }
    }

    private func switchKnobs(_ mount: String) {
        let writes = [("mtcopy/threads", "3"), ("migration/offload_migrator", "mtcopy"), ("dcbm/nr_dma_chan", "2"),
                      ("migration/offload_migrator", "dcbm"), ("migration/batch_size", "3"), ("migration/offload_migrator", "kernel"),
                      ("migration/batch_size", "512")]
        var index = 0
        while running.load(ordering: .relaxed) {
            let (path, value) = writes[index % writes.count]
            let start = DispatchTime.now().uptimeNanoseconds
            if (try? writeKnob(mount + "/" + path, value)) != nil, path == "migration/offload_migrator" {
                let took = DispatchTime.now().uptimeNanoseconds - start
                report.withLock { $0.switchLatencies.append(took) }
            }
            index += 1
            OSThread.sleep(.milliseconds(20))
        }
    }

    private func batchesServed() throws -> UInt64 {
        try FolioClient.stats(socketPath: socket).batches
    }
}
