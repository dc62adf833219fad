import FolioMetrics
import Testing
@testable import FoliodDaemon

/// `[metrics] listen` in the config: off without it, an address with it, and a bad value is a
/// config error naming its line.
struct MetricsConfigTests {
    static let tier = ["[[tiers]]", "name = \"fast\"", "size = \"16M\""]

    @Test func offWithoutIt() throws {
        #expect(try DaemonConfigTests.parse(Self.tier).metricsListen == nil)
        #expect(try DaemonConfigTests.parse(Self.tier + ["[metrics]"]).metricsListen == nil)
    }

    @Test func anAddressWithIt() throws {
        let config = try DaemonConfigTests.parse(Self.tier + ["[metrics]", "listen = \"127.0.0.1:9464\""])
        #expect(config.metricsListen == MetricsAddress("127.0.0.1:9464"))
    }

    @Test(arguments: ["\"localhost:9464\"", "\"127.0.0.1\"", "\"127.0.0.1:0\"", "9464", "\"\""])
    func aBadValueNamesItsLine(value: String) {
        let problem = DaemonConfigTests.problem(Self.tier + ["", "[metrics]", "listen = \(value)"])
        #expect(problem?.hasPrefix("test.toml:6: [metrics] listen: expected \"ADDRESS:PORT\"") == true, "\(problem ?? "parsed")")
    }

    @Test func anUnknownKeyIsRefused() {
        #expect(DaemonConfigTests.problem(Self.tier + ["[metrics]", "port = 9464"]) == "test.toml:5: [metrics] port: unknown key")
    }
}
