import Testing
@testable import FoliodDaemon

/// `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` read as `sd_listen_fds_with_names()` does.
struct PassedDescriptorsTests {
    static let pid: Int32 = 4321

    struct Case: CustomTestStringConvertible, Sendable {
        var environment: [String: String]
        var named: [String]  // the names of fds 3, 4, …
        var testDescription: String { environment.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ") }
    }

    static func parsed(_ environment: [String: String]) -> [(name: String, fd: Int32)] {
        PassedDescriptors(environment: environment, pid: pid).named
    }

    @Test(arguments: [
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "foliod.socket"], named: ["foliod.socket"]),
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "3", "LISTEN_FDNAMES": "a:b:c"], named: ["a", "b", "c"]),
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "2"], named: ["unknown", "unknown"]),  // no names at all
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "3", "LISTEN_FDNAMES": "a"], named: ["a", "unknown", "unknown"]),  // too few
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b:c:d"], named: ["a", "b"]),  // too many
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "3", "LISTEN_FDNAMES": "a::c"], named: ["a", "", "c"]),
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "1", "LISTEN_FDNAMES": ""], named: [""]),
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "space-1-meta:space-1-table"], named: ["space-1-meta", "space-1-table"]),
        Case(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "65535"], named: Array(repeating: "unknown", count: 65535)),
    ])
    func forThisProcess_namesFdsFromThreeOn(test: Case) {
        let named = Self.parsed(test.environment)
        #expect(named.map(\.name) == test.named)
        #expect(named.map(\.fd) == Array(3..<3 + Int32(test.named.count)))
    }

    @Test(arguments: [
        [:],
        ["LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b"],  // no LISTEN_PID
        ["LISTEN_PID": "4322", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b"],  // another process's
        ["LISTEN_PID": "1", "LISTEN_FDS": "2"],
        ["LISTEN_PID": "", "LISTEN_FDS": "2"],
        ["LISTEN_PID": "4321x", "LISTEN_FDS": "2"],
        ["LISTEN_PID": " 4321", "LISTEN_FDS": "2"],
        ["LISTEN_PID": "4321", "LISTEN_FDNAMES": "a"],  // no LISTEN_FDS
        ["LISTEN_PID": "4321", "LISTEN_FDS": "0", "LISTEN_FDNAMES": ""],
        ["LISTEN_PID": "4321", "LISTEN_FDS": "-1"],
        ["LISTEN_PID": "4321", "LISTEN_FDS": "garbage"],
        ["LISTEN_PID": "4321", "LISTEN_FDS": ""],
        ["LISTEN_PID": "4321", "LISTEN_FDS": "2 "],
        ["LISTEN_PID": "4321", "LISTEN_FDS": "0x2"],
        ["LISTEN_PID": "4321", "LISTEN_FDS": "65536"],
        ["LISTEN_PID": "4321", "LISTEN_FDS": "99999999999"],
    ] as [[String: String]])
    func otherwise_nothingWasPassed(environment: [String: String]) {
        #expect(Self.parsed(environment).isEmpty)
    }

    @Test func take_removesWhatMatchesAndKeepsTheRestInOrder() {
        var passed = PassedDescriptors(environment: ["LISTEN_PID": "4321", "LISTEN_FDS": "5",
                                                     "LISTEN_FDNAMES": "space-1-meta:mount:space-1-table:socket:space-2-meta"], pid: Self.pid)
        let spaces = passed.take { $0.hasPrefix("space-") }
        #expect(spaces.map(\.name) == ["space-1-meta", "space-1-table", "space-2-meta"])
        #expect(spaces.map(\.fd) == [3, 5, 7])
        #expect(passed.named.map(\.name) == ["mount", "socket"])
        #expect(passed.named.map(\.fd) == [4, 6])
        #expect(passed.take { $0.hasPrefix("space-") }.isEmpty, "taken once")
        #expect(passed.take { $0 == "socket" }.map(\.fd) == [6])
        #expect(passed.named.map(\.name) == ["mount"])
    }
}
