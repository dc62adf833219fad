import Prometheus

/// The batch and first-folio latencies as cumulative histograms, recorded as batches complete
/// (the pipeline's `BatchCompletions` observer): Prometheus computes any quantile over any
/// window from them, where the pipeline's `LatencyRecord` keeps only the last 4096 values.
/// One lock and a pass over 19 bounds per batch.
public final class LatencyHistograms: Sendable {
    /// The bucket bounds, 10 µs to 10 s: a batch of one 4 KiB folio takes tens of µs, one of
    /// 512 huge folios under a slow DMA engine takes seconds.
    public static let bounds: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    let registry = PrometheusCollectorRegistry()
    private let batch: DurationHistogram
    private let firstFolio: DurationHistogram

    public init() {
        batch = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "foliod_batch_duration_seconds", unitName: "",
                helpText: "Each batch's time, from its start to the end of its move step (migration/stats/batch_latency_ns)."),
            buckets: Self.bounds)
        firstFolio = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "foliod_first_folio_duration_seconds", unitName: "",
                helpText: "Each migrate request's time to its first completed folios (migration/stats/first_folio_ns)."),
            buckets: Self.bounds)
    }

    /// Records one batch, and for a request's first batch its time to the first folios.
    public func record(batchNanos: UInt64, firstFolioNanos: UInt64?) {
        batch.record(.nanoseconds(Int64(clamping: batchNanos)))
        if let firstFolioNanos { firstFolio.record(.nanoseconds(Int64(clamping: firstFolioNanos))) }
    }
}
