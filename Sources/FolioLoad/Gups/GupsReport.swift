/// What `foliobench gups` prints: a line per second while it runs, a table per setting at the end,
/// and a plot of the hot set's share in the fast tier over time.
enum GupsReport {
    static let header = "setting     s   Mupdates/s  hot in fast  demoted MiB  promoted MiB\n"

    static func line(_ setting: MigratorSetting, _ sample: GupsSecond) -> String {
        pad(setting.description, 10) + pad(String(sample.second), 4, right: true) + pad(fixed(Double(sample.updates) / 1e6, digits: 2), 13, right: true)
            + pad(fixed(sample.hotShare * 100, digits: 1) + "%", 13, right: true)
            + pad(String(sample.demotedBytes >> 20), 13, right: true) + pad(String(sample.promotedBytes >> 20), 14, right: true) + "\n"
    }

    /// The summary: per setting, the mean update rate, the hot set's share just before the move,
    /// the time to re-converge after it, and what moved in all.
    static func table(_ results: [GupsResult]) -> String {
        var text = "setting     Mupdates/s  hot in fast before move  converged after move  demoted MiB  promoted MiB  shadows  copied MiB  shadow hits\n"
        for result in results {
            let rate = Double(result.seconds.reduce(0) { $0 + $1.updates }) / Double(max(result.seconds.count, 1)) / 1e6
            let before = result.seconds.first { $0.second == result.movedAt }?.hotShare ?? 0
            let after = result.seconds.count - result.movedAt
            let converged = result.convergence.map { "\(fixed($0, digits: 1)) s" } ?? (after > 0 ? "not in \(after) s" : "stopped before")
            text += pad(result.setting.description, 10) + pad(fixed(rate, digits: 2), 12, right: true) + pad(fixed(before * 100, digits: 1) + "%", 25, right: true)
                + pad(converged, 22, right: true) + pad(String(result.seconds.reduce(0) { $0 + $1.demotedBytes } >> 20), 13, right: true)
                + pad(String(result.seconds.reduce(0) { $0 + $1.promotedBytes } >> 20), 14, right: true)
                + pad(result.shadows.map { $0 ? "on" : "off" } ?? "-", 9, right: true) + pad(String(result.bytesCopied >> 20), 12, right: true)
                + pad(String(result.shadowHits), 13, right: true) + "\n"
        }
        return text
    }

    /// Hot-set share in the fast tier against time (every 0.1 s), a line per setting.
    static func plot(_ results: [GupsResult]) -> String {
        let series = results.map { result in
            BenchPlot.Series(name: result.setting.description, points: result.trace.map { ($0.time, $0.share * 100, nil) }, markers: false)
        }
        let last = results.map(\.seconds.count).max() ?? 1
        let ticks = stride(from: 0, through: last, by: max(last / 10, 1)).map { (Double($0), String($0)) }
        return BenchPlot.chart(title: "GUPS: share of the hot set in the fast tier (hot set moves halfway)", xLabel: "seconds", yLabel: "% of the hot set in the fast tier",
                               series: series, xTicks: ticks, logX: false, top: 100)
    }

    private static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(width - text.count, 0))
        return right ? fill + text : text + fill
    }
}
