import Dispatch
import FoundationEssentials
import Glibc

/// An SVG line chart of GB/s against folio size (log scale), one line per migrator setting,
/// with the one-thread memcpy ceiling dashed.
enum BenchPlot {
    static let width = 720.0
    static let height = 440.0
    static let margin = (left: 64.0, right: 150.0, top: 30.0, bottom: 50.0)
    static let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    static func svg(_ cells: [BenchCell]) -> String {
        let sizes = Array(Set(cells.map(\.size))).sorted()
        let top = max((cells.map(\.gbps) + cells.map(\.ceilingOneThread)).max() ?? 1, 0.001) * 1.1
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom
        func x(_ size: Int) -> Double {
            guard let first = sizes.first, let last = sizes.last, last > first else { return margin.left + plotWidth / 2 }
            return margin.left + (log2(Double(size)) - log2(Double(first))) / (log2(Double(last)) - log2(Double(first))) * plotWidth
        }
        func y(_ gbps: Double) -> Double { margin.top + plotHeight * (1 - gbps / top) }
        var parts = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(width / 2 - 80)\" y=\"18\" font-size=\"14\">foliod migration throughput</text>",
        ]
        for tick in 0...5 {
            let value = top * Double(tick) / 5
            parts.append("<line x1=\"\(margin.left)\" x2=\"\(margin.left + plotWidth)\" y1=\"\(y(value))\" y2=\"\(y(value))\" stroke=\"#ddd\"/>")
            parts.append("<text x=\"\(margin.left - 8)\" y=\"\(y(value) + 4)\" text-anchor=\"end\">\(fixed(value, digits: 1))</text>")
        }
        for size in sizes {
            parts.append("<text x=\"\(x(size))\" y=\"\(height - margin.bottom + 18)\" text-anchor=\"middle\">\(ByteSize(bytes: size))</text>")
        }
        parts.append("<text x=\"\(margin.left + plotWidth / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">folio size</text>")
        parts.append("<text transform=\"translate(16,\(margin.top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">GB/s</text>")
        let ceiling = sizes.compactMap { size in cells.first { $0.size == size }.map { (size, $0.ceilingOneThread) } }
        var series = [("memcpy 1t", ceiling, "#000", true)]
        let settings = cells.map(\.setting).reduce(into: [MigratorSetting]()) { if !$0.contains($1) { $0.append($1) } }
        for (index, setting) in settings.enumerated() {
            let points = cells.filter { $0.setting == setting }.map { ($0.size, $0.gbps) }
            series.append((setting.description, points, colors[index % colors.count], false))
        }
        for (index, (name, points, color, dashed)) in series.enumerated() {
            let path = points.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
            parts.append("<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(path)\"/>")
            for point in points { parts.append("<circle cx=\"\(x(point.0))\" cy=\"\(y(point.1))\" r=\"3\" fill=\"\(color)\"/>") }
            let legendY = margin.top + 10 + Double(index) * 18
            parts.append("<line x1=\"\(width - margin.right + 16)\" x2=\"\(width - margin.right + 40)\" y1=\"\(legendY)\" y2=\"\(legendY)\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>")
            parts.append("<text x=\"\(width - margin.right + 46)\" y=\"\(legendY + 4)\">\(name)</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }
}
