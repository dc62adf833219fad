import Dispatch
import FoundationEssentials
import Glibc

/// SVG line charts of the bench's figures: GB/s against folio size, and GB/s against the
/// latency of a request's first folios, a point per batch size.
enum BenchPlot {
    static let width = 720.0
    static let height = 440.0
    static let margin = (left: 64.0, right: 150.0, top: 30.0, bottom: 50.0)
    static let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// One line: its name, its points (x, y, a label for the point), whether it is dashed and
    /// whether its points are marked.
    struct Series {
        var name: String
        var points: [(x: Double, y: Double, label: String?)]
        var dashed = false
        /// A dot on each point (off for dense time series).
        var markers = true
    }

    /// GB/s against folio size (log scale), a line per setting, the one-thread memcpy dashed.
    static func svg(_ cells: [BenchCell]) -> String {
        let sizes = Array(Set(cells.map(\.size))).sorted()
        let ceiling = Series(name: "memcpy 1t", points: sizes.compactMap { size in cells.first { $0.size == size }.map { (Double(size), $0.ceilingOneThread, nil) } }, dashed: true)
        let settings = cells.map(\.setting).reduce(into: [MigratorSetting]()) { if !$0.contains($1) { $0.append($1) } }
        let lines = settings.map { setting in
            Series(name: setting.description, points: cells.filter { $0.setting == setting }.map { (Double($0.size), $0.gbps, nil) })
        }
        return chart(title: "foliod migration throughput", xLabel: "folio size", yLabel: "GB/s", series: [ceiling] + lines,
                     xTicks: sizes.map { (Double($0), ByteSize(bytes: $0).description) })
    }

    /// The batch-size trade-off: GB/s against the first folios' p50 latency (log scale), a
    /// point per batch size, a line per setting (and per folio size, if there are several).
    static func batchSizes(_ cells: [BatchSizeCell]) -> String {
        let keys = cells.map { "\($0.setting) \(ByteSize(bytes: $0.size))" }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let series = keys.map { key in
            Series(name: key, points: cells.filter { "\($0.setting) \(ByteSize(bytes: $0.size))" == key }
                .map { (max(Double($0.firstP50) / 1000, 1), $0.gbps, String($0.batchSize)) })
        }
        let latencies = series.flatMap { $0.points.map(\.x) }
        let low = pow(10, (log10(latencies.min() ?? 1)).rounded(.down))
        let high = pow(10, (log10(latencies.max() ?? 10)).rounded(.up))
        let ticks = stride(from: log10(low), through: log10(high), by: 1).map { (pow(10, $0), fixed(pow(10, $0), digits: 0)) }
        return chart(title: "batch size: throughput against first-folio latency", xLabel: "first folios complete after (µs, p50)", yLabel: "GB/s",
                     series: series, xTicks: ticks)
    }

    /// A chart with a log-scale (or linear) x axis and a linear y axis from 0 to `top` (or a
    /// tenth above the highest point).
    static func chart(title: String, xLabel: String, yLabel: String, series: [Series], xTicks: [(Double, String)], logX: Bool = true, top: Double? = nil) -> String {
        let scale: (Double) -> Double = logX ? { log2($0) } : { $0 }
        let xs = xTicks.map(\.0) + series.flatMap { $0.points.map(\.x) }
        let (low, high) = (scale(xs.min() ?? 1), scale(xs.max() ?? 2))
        let top = top ?? max(series.flatMap { $0.points.map(\.y) }.max() ?? 1, 0.001) * 1.1
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom
        func x(_ value: Double) -> Double {
            high > low ? margin.left + (scale(value) - low) / (high - low) * plotWidth : margin.left + plotWidth / 2
        }
        func y(_ value: Double) -> Double { margin.top + plotHeight * (1 - value / top) }
        var parts = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(margin.left)\" y=\"18\" font-size=\"14\">\(title)</text>",
        ]
        for tick in 0...5 {
            let value = top * Double(tick) / 5
            parts.append("<line x1=\"\(margin.left)\" x2=\"\(margin.left + plotWidth)\" y1=\"\(y(value))\" y2=\"\(y(value))\" stroke=\"#ddd\"/>")
            parts.append("<text x=\"\(margin.left - 8)\" y=\"\(y(value) + 4)\" text-anchor=\"end\">\(fixed(value, digits: 1))</text>")
        }
        for (value, label) in xTicks {
            parts.append("<text x=\"\(x(value))\" y=\"\(height - margin.bottom + 18)\" text-anchor=\"middle\">\(label)</text>")
        }
        parts.append("<text x=\"\(margin.left + plotWidth / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(xLabel)</text>")
        parts.append("<text transform=\"translate(16,\(margin.top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">\(yLabel)</text>")
        for (index, line) in series.enumerated() {
            let color = line.dashed ? "#000" : colors[index % colors.count]
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            let path = line.points.map { "\(x($0.x)),\(y($0.y))" }.joined(separator: " ")
            parts.append("<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash) points=\"\(path)\"/>")
            for point in line.points where line.markers {
                parts.append("<circle cx=\"\(x(point.x))\" cy=\"\(y(point.y))\" r=\"3\" fill=\"\(color)\"/>")
                if let label = point.label { parts.append("<text x=\"\(x(point.x) + 5)\" y=\"\(y(point.y) - 5)\" font-size=\"10\">\(label)</text>") }
            }
            let legendY = margin.top + 10 + Double(index) * 18
            parts.append("<line x1=\"\(width - margin.right + 16)\" x2=\"\(width - margin.right + 40)\" y1=\"\(legendY)\" y2=\"\(legendY)\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>")
            parts.append("<text x=\"\(width - margin.right + 46)\" y=\"\(legendY + 4)\">\(line.name)</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }
}
