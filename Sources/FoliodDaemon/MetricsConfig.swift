import FolioMetrics
import FolioService
import Logging
import TOMLKit

extension DaemonConfig {
    /// `[metrics] listen`: where the Prometheus endpoint listens; nil (off) without it.
    static func metricsListen(in table: TOMLTable, source: ConfigSource) throws(Problem) -> MetricsAddress? {
        guard let value = table["metrics"]?.table?["listen"] else { return nil }
        guard let text = value.string, let address = MetricsAddress(text) else {
            let line = source.line(ofKey: "listen", inTable: "metrics")
            throw Problem(description: "\(source.path):\(line): [metrics] listen: expected \"ADDRESS:PORT\", an IP address and a port from 1 to 65535 (\"127.0.0.1:9464\", \"[::1]:9464\")")
        }
        return address
    }
}

extension DaemonNode {
    /// Latency histograms the pipeline feeds as batches complete.
    func recordLatencies() -> LatencyHistograms {
        let histograms = LatencyHistograms()
        core.pipeline.completions.observe { histograms.record(batchNanos: $0.batchNanos, firstFolioNanos: $0.firstFolioNanos) }
        return histograms
    }

    /// Starts `[metrics] listen`'s endpoint (nil when the config has none) over `server`'s
    /// stats reply and `histograms`.
    func serveMetrics(_ address: MetricsAddress?, histograms: LatencyHistograms?, server: FolioServer, logger: Logger) throws(MetricsError) -> MetricsEndpoint? {
        guard let address else { return nil }
        let endpoint = try MetricsEndpoint.start(at: address, histograms: histograms) { server.stats() }
        logger.info("metrics endpoint listening", metadata: ["listen": "\(address)", "path": "/metrics"])
        return endpoint
    }
}
