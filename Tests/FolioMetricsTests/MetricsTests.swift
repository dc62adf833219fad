import FolioProtocol
import Glibc
import Testing
@testable import FolioMetrics

/// `[metrics] listen`'s addresses, the stats reply in the text format, and the endpoint over a
/// real loopback socket. The shell test (test_metrics.sh) has a real Prometheus scrape it.
struct MetricsTests {
    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464), ("0.0.0.0:1", "0.0.0.0", 1), ("[::1]:9464", "::1", 9464),
        ("[::]:65535", "::", 65535),
    ])
    func anAddressIsAnIPLiteralAndAPort(text: String, host: String, port: Int) {
        let address = MetricsAddress(text)
        #expect(address?.host == host)
        #expect(address?.port == port)
        #expect(address?.description == text)
    }

    @Test(arguments: ["", "127.0.0.1", "127.0.0.1:", ":9464", "localhost:9464", "127.0.0.1:0", "127.0.0.1:65536",
                      "127.0.0.1:+80", "::1:9464", "[::1]9464", "[::1:9464", "256.0.0.1:80", "127.0.0.1:9464 ", "127.0.0.1:123456"])
    func anythingElseIsRefused(text: String) {
        #expect(MetricsAddress(text) == nil)
    }

    static let stats = FolioStats(migrator: "mtcopy", counters: [
        .init(name: "batches", value: 3), .init(name: "folios_migrated", value: 70), .init(name: "copy_ns", value: 1_500_000_000),
        .init(name: "a_new_counter_ns", value: 2_000_000_000),
        .init(name: "mtcopy.folios_migrated", value: 50), .init(name: "mtcopy.folios_failures", value: 1),
        .init(name: "tiering.promoted_bytes", value: 8192), .init(name: "tier.fast.size", value: 1000),
        .init(name: "tier.fast.free_bytes", value: 400), .init(name: "tier.fast.hot_bytes", value: 100),
        .init(name: "tier.fast.watermark_low", value: 20), .init(name: "reason.promotion.folios_migrated", value: 9),
        .init(name: "batch_latency.p50_ns", value: 1234), .init(name: "service.sessions", value: 2),
        .init(name: "service.named_spaces", value: 1), .init(name: "service.refused.EUSERS", value: 4),
        .init(name: "some.unknown.thing.here", value: 5),
    ])

    @Test func theStatsReplyInTheTextFormat() {
        let text = String(decoding: MetricsExposition.render(Self.stats, histograms: LatencyHistograms()), as: UTF8.self)
        // Gauges are doubles in swift-prometheus: "1000.0", which Prometheus reads as 1000.
        let lines = Set(text.split(separator: "\n").map(String.init))
        for line in [
            "# TYPE foliod_batches_total counter", "foliod_batches_total 3", "foliod_folios_migrated_total 70",
            "foliod_copy_seconds_total 1.5", "foliod_a_new_counter_seconds_total 2.0",
            #"foliod_migrator_folios_migrated_total{migrator="mtcopy"} 50"#, #"foliod_migrator_folios_failures_total{migrator="mtcopy"} 1"#,
            "foliod_tiering_promoted_bytes_total 8192", "# TYPE foliod_tier_size_bytes gauge", #"foliod_tier_size_bytes{tier="fast"} 1000.0"#,
            #"foliod_tier_free_bytes{tier="fast"} 400.0"#, #"foliod_tier_used_bytes{tier="fast"} 600.0"#, #"foliod_tier_hot_bytes{tier="fast"} 100.0"#,
            #"foliod_tier_watermark_low_bytes{tier="fast"} 20.0"#, #"foliod_reason_folios_migrated_total{reason="promotion"} 9"#,
            "foliod_sessions 2.0", "foliod_named_spaces 1.0", #"foliod_refused_connections_total{errno="EUSERS"} 4"#,
            #"foliod_migrator_info{migrator="mtcopy"} 1.0"#, "# TYPE foliod_batch_duration_seconds histogram",
            #"foliod_batch_duration_seconds_bucket{le="+Inf"} 0"#, "foliod_first_folio_duration_seconds_count 0",
        ] {
            #expect(lines.contains(line), "\(line)")
        }
        #expect(text.contains("# HELP foliod_folios_migrated_total "))
        #expect(!text.contains("p50"), "the latencies' summaries are the histograms'")
        #expect(!text.contains("unknown"))
    }

    /// A counter the tables do not know whose generated name is a known family's is left out:
    /// swift-prometheus would end the daemon on the clash.
    @Test func anUnknownCounter_neverTakesAKnownFamilysName() {
        let stats = FolioStats(migrator: "kernel", counters: [.init(name: "tiering.demoted", value: 1), .init(name: "tiering.demoted_folios", value: 2),
                                                              .init(name: "kernel.folios_migrated", value: 5)])
        let text = String(decoding: MetricsExposition.render(stats), as: UTF8.self)
        #expect(text.contains("foliod_tiering_demoted_folios_total 1\n"))
        #expect(!text.contains("foliod_tiering_demoted_folios_total 2"))
        #expect(text.contains("foliod_migrator_folios_migrated_total{migrator=\"kernel\"} 5\n"))
    }

    @Test func theHistogramsCountEachBatch() {
        let histograms = LatencyHistograms()
        histograms.record(batchNanos: 30_000, firstFolioNanos: 30_000)
        histograms.record(batchNanos: 2_000_000, firstFolioNanos: nil)
        let text = String(decoding: MetricsExposition.render(Self.stats, histograms: histograms), as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains(#"foliod_batch_duration_seconds_bucket{le="2.5e-05"} 0"#) || lines.contains(#"foliod_batch_duration_seconds_bucket{le="0.000025"} 0"#), "\(text)")
        #expect(lines.contains("foliod_batch_duration_seconds_count 2"))
        #expect(lines.contains("foliod_first_folio_duration_seconds_count 1"))
        #expect(lines.contains(#"foliod_batch_duration_seconds_bucket{le="+Inf"} 2"#))
    }

    /// One HTTP/1.0 exchange with 127.0.0.1:`port`: the status line and the body.
    static func get(_ request: String, port: Int) -> (status: String, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return ("connect failed", "") }
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            reply += chunk.prefix(count)
        }
        let text = String(decoding: reply, as: UTF8.self)
        let parts = text.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false)
        // "\r\n" is one Character: split the status line off by it.
        return (text.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? "", parts.count > 1 ? String(parts[1]) : "")
    }

    @Test func theEndpointAnswersOverHTTP() throws {
        let endpoint = try MetricsEndpoint.start(at: MetricsAddress(host: "127.0.0.1", port: 0)) { Self.stats }
        defer { endpoint.stop() }
        let metrics = Self.get("GET /metrics HTTP/1.0\r\n\r\n", port: endpoint.port)
        #expect(metrics.status == "HTTP/1.0 200 OK")
        #expect(metrics.body.contains("foliod_folios_migrated_total 70\n"))
        #expect(Self.get("GET /metrics?x=1 HTTP/1.0\r\n\r\n", port: endpoint.port).status == "HTTP/1.0 200 OK")
        #expect(Self.get("GET /other HTTP/1.0\r\n\r\n", port: endpoint.port).status == "HTTP/1.0 404 Not Found")
        #expect(Self.get("POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n", port: endpoint.port).status == "HTTP/1.0 405 Method Not Allowed")
        let head = Self.get("HEAD /metrics HTTP/1.0\r\n\r\n", port: endpoint.port)
        #expect(head.status == "HTTP/1.0 200 OK" && head.body.isEmpty)
    }

    /// A peer that opens connections and sends nothing holds at most `maxConnections`: the
    /// next one is closed at once, and a scrape gets through again once one of them goes.
    @Test func idleConnectionsAreCapped() throws {
        let endpoint = try MetricsEndpoint.start(at: MetricsAddress(host: "127.0.0.1", port: 0)) { Self.stats }
        defer { endpoint.stop() }
        func open() -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(endpoint.port).bigEndian)
            address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            return fd
        }
        var idle = (0..<MetricsEndpoint.maxConnections).map { _ in open() }
        defer { idle.forEach { close($0) } }
        // Accepted in order: once a request on the last one is answered, all are counted.
        _ = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { send(idle[idle.count - 1], $0.baseAddress, $0.count, 0) }
        var byte: UInt8 = 0
        #expect(recv(idle[idle.count - 1], &byte, 1, 0) == 1)
        #expect(Self.get("GET /metrics HTTP/1.0\r\n\r\n", port: endpoint.port).status == "")
        close(idle.removeFirst())
        var status = ""
        for _ in 0..<100 where status.isEmpty {
            status = Self.get("GET /metrics HTTP/1.0\r\n\r\n", port: endpoint.port).status
            if status.isEmpty { usleep(10_000) }
        }
        #expect(status == "HTTP/1.0 200 OK")
    }

    @Test func aPortInUseIsAnErrorAtStart() throws {
        let first = try MetricsEndpoint.start(at: MetricsAddress(host: "127.0.0.1", port: 0)) { Self.stats }
        defer { first.stop() }
        let taken = MetricsAddress(host: "127.0.0.1", port: first.port)
        #expect {
            try MetricsEndpoint.start(at: taken) { Self.stats }
        } throws: { error in
            "\(error)" == "[metrics] listen = \"127.0.0.1:\(first.port)\": cannot listen there: Address already in use (EADDRINUSE)"
        }
    }

    @Test func stopEndsTheEndpoint() throws {
        let endpoint = try MetricsEndpoint.start(at: MetricsAddress(host: "127.0.0.1", port: 0)) { Self.stats }
        let port = endpoint.port
        endpoint.stop()
        #expect(Self.get("GET /metrics HTTP/1.0\r\n\r\n", port: port).status == "connect failed")
    }
}
