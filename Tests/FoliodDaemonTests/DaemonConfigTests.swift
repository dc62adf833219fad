import FolioMemory
import FolioService
import FolioSharedMemory
import FoundationEssentials
import Testing
@testable import FoliodDaemon

/// `DaemonConfig.parse` and the `[[tiers]]` tables (`TierConfig`): what a config file may say,
/// and for everything else the error the daemon prints, naming the file and the line. The
/// shell tests (test_lifecycle.sh, test_hardening.sh) check a few of these through `foliod`;
/// here each is one row.
struct DaemonConfigTests {
    static func parse(_ lines: [String]) throws(DaemonConfig.Problem) -> DaemonConfig {
        try DaemonConfig.parse(lines.joined(separator: "\n") + "\n", path: "test.toml")
    }

    /// The description of the error `lines` give, or nil if they parse.
    static func problem(_ lines: [String]) -> String? {
        do {
            _ = try parse(lines)
            return nil
        } catch {
            return error.description
        }
    }

    /// One `[[tiers]]` table (lines 1–3) and `extra` lines after it.
    static func tier(size: String = "\"16M\"", _ extra: String...) -> [String] {
        ["[[tiers]]", "name = \"fast\"", "size = \(size)"] + extra
    }

    // MARK: sizes

    @Test(arguments: [
        ("\"2M\"", 2 << 20), ("\"2m\"", 2 << 20), ("\"4096K\"", 4 << 20), ("\"4096k\"", 4 << 20), ("\"1G\"", 1 << 30),
        ("\"1g\"", 1 << 30), ("2097152", 2 << 20), ("6_291_456", 6 << 20), ("\"6291456\"", 6 << 20), ("\"0016M\"", 16 << 20),
    ] as [(String, Int)])
    func tierSizes_areBytesOrHaveASuffixInEitherCase(size: String, bytes: Int) throws {
        let config = try Self.parse(Self.tier(size: size))
        #expect(config.tiers.map(\.sizeBytes) == [bytes])
        #expect(config.tiers.map(\.name) == ["fast"])
    }

    @Test(arguments: [
        "\"3M\"", "\"1K\"", "\"2047K\"", "\"0\"", "0", "\"0G\"", "-2097152", "\"-2M\"", "\"2MB\"", "\"2 M\"", "\" 2M\"", "\"M\"",
        "\"\"", "\"1.5G\"", "\"0x200000\"", "true", "2097152.0", "[2097152]", "\"2P\"", "\"8388608T\"", "\"99999999999999999999\"",
        "\"99999999999999999999M\"", "1048575",
    ])
    func badTierSizes_nameTheSizeLine(size: String) {
        #expect(Self.problem(Self.tier(size: size)) == "test.toml:3: [[tiers]] size: expected a positive multiple of 2 MiB, as bytes or with K, M, G or T (\"512M\")")
    }

    @Test func aTierWithoutASize_namesItsHeader() {
        #expect(Self.problem(["# tiers", "", "[[tiers]]", "name = \"fast\""]) == "test.toml:3: [[tiers]] size: expected a positive multiple of 2 MiB, as bytes or with K, M, G or T (\"512M\")")
    }

    @Test func tiersLargerThanTheMachine_areRefusedAtTheLastTiersSize() throws {
        let memory = try #require(TierConfig.machineMemory())
        let problem = Self.problem(Self.tier(size: "\"2M\"") + ["[[tiers]]", "name = \"slow\"", "size = \"1024T\""])
        #expect(problem == "test.toml:6: [[tiers]] size: the tiers add up to \((1 << 50) + (2 << 20)) bytes, more than this machine's memory (\(memory) bytes, MemTotal)")
    }

    /// A suffix whose upper case is two letters ("ß" is "SS") must be a bad size, not a crash.
    @Test func aSizeSuffixThatUppercasesToTwoLetters_isABadSize() async {
        await #expect(processExitsWith: .success) {
            _ = try? DaemonConfig.parse("[[tiers]]\nname = \"fast\"\nsize = \"2ß\"\n", path: "test.toml")
        }
    }

    // MARK: names, node, huge_pages

    @Test(arguments: ["\"\"", "\"a b\"", "\"fast/x\"", "\"ä.b\"", "\"x:y\"", "1", "true"])
    func badTierNames_nameTheNameLine(name: String) {
        #expect(Self.problem(["[[tiers]]", "size = \"2M\"", "name = \(name)"]) == "test.toml:3: [[tiers]] name: expected a name of letters, digits, '_' or '-'")
    }

    /// A space's own memfds are foliod-ID-table, -pins and -meta: a tier of that name would
    /// have its node_bytes mixed with them.
    @Test(arguments: ["table", "pins", "meta"])
    func theSpacesOwnMemfdNames_areNoTierNames(name: String) {
        #expect(Self.problem(["[[tiers]]", "size = \"2M\"", "name = \"\(name)\""]) == "test.toml:3: [[tiers]] name: '\(name)' names a space's own memfd; choose another")
        #expect(Self.problem(["[[tiers]]", "size = \"2M\"", "name = \"\(String(repeating: "a", count: 65))\""]) == "test.toml:3: [[tiers]] name: at most 64 bytes")
    }

    @Test func tierNames_areUniqueAndMayHoldLettersDigitsUnderscoresAndDashes() throws {
        #expect(Self.problem(Self.tier() + ["", "[[tiers]]", "size = \"2M\"", "name = \"fast\""]) == "test.toml:7: [[tiers]] name: tier 'fast' is defined twice")
        #expect(try Self.parse(Self.tier() + ["[[tiers]]", "name = \"slow_2-x\"", "size = \"2M\""]).tiers.map(\.name) == ["fast", "slow_2-x"])
        #expect(Self.problem(["[[tiers]]", "size = \"2M\""]) == "test.toml:1: [[tiers]] name: expected a name of letters, digits, '_' or '-'")
    }

    @Test func anUnknownTierKey_namesItsLine() {
        #expect(Self.problem(Self.tier("colour = \"red\"")) == "test.toml:4: [[tiers]] colour: unknown key")
    }

    @Test func theNode_isANodeOfThisMachine() throws {
        #expect(try Self.parse(Self.tier()).tiers.first?.node == nil)
        if FileManager.default.fileExists(atPath: "/sys/devices/system/node/node0") {
            #expect(try Self.parse(Self.tier("node = 0")).tiers.first?.node == 0)
        }
        #expect(Self.problem(Self.tier("node = 63")) == "test.toml:4: [[tiers]] node: tier 'fast': NUMA node 63 does not exist on this machine")
        for bad in ["-1", "\"0\"", "0.0", "true", "\"Auto\""] {
            #expect(Self.problem(Self.tier("node = \(bad)")) == "test.toml:4: [[tiers]] node: expected a node number or \"auto\"", "node = \(bad)")
        }
    }

    @Test(arguments: ["\"bogus\"", "\"Auto\"", "\"THP\"", "\"\"", "1", "true"])
    func anUnknownHugePageMode_namesItsLine(mode: String) {
        #expect(Self.problem(Self.tier("huge_pages = \(mode)")) == "test.toml:4: [[tiers]] huge_pages: expected auto or one of none, thp, hugetlb")
    }

    @Test func hugePages_noneAutoOrWhatTheMachineGives() throws {
        let none = try Self.parse(Self.tier("huge_pages = \"none\"")).tiers[0]
        #expect(none.hugePages == .none && !none.chosenAutomatically)
        let auto = try Self.parse(Self.tier("huge_pages = \"auto\""))
        #expect(auto.tiers[0].chosenAutomatically)
        #expect(auto.hugePageChoices.count == 1)
        #expect(auto.hugePageChoices.first?.hasPrefix("tier fast: huge_pages auto chose \(auto.tiers[0].hugePages.rawValue): ") == true)
        #expect(try Self.parse(Self.tier()).hugePageChoices.isEmpty)
        // thp and hugetlb are what this machine can give, or an error naming the line: never a downgrade.
        for mode in [HugePageMode.thp, .hugetlb] {
            let lines = Self.tier("huge_pages = \"\(mode.rawValue)\"")
            if let reason = HostMemory.unavailability(of: TierSpec(name: "fast", sizeBytes: 16 << 20, hugePages: mode)) {
                #expect(Self.problem(lines) == "test.toml:4: [[tiers]] huge_pages: tier 'fast': \(reason)")
            } else {
                #expect(try Self.parse(lines).tiers[0].hugePages == mode)
            }
        }
    }

    @Test func atMost64Tiers_the65thNamedByItsLine() throws {
        let tables = (0..<65).flatMap { ["[[tiers]]", "name = \"t\($0)\"", "size = \"2M\"", ""] }
        #expect(Self.problem(tables) == "test.toml:258: [[tiers]]: at most 64 tiers (an attach carries a memfd for each)")
        #expect(try Self.parse(Array(tables.prefix(64 * 4))).tiers.count == 64)
    }

    // MARK: sections and keys

    @Test(arguments: [
        (["mount = \"mnt\""], "test.toml:1: mount: a key outside any section (it belongs in [daemon])"),
        (["# comment", "sessions = 5", "[daemon]"], "test.toml:2: sessions: a key outside any section (it belongs in [limits])"),
        (["", "", "timeout_ms = 5"], "test.toml:3: timeout_ms: a key outside any section (it belongs in [dcbm])"),
        (["group = \"wheel\""], "test.toml:1: group: a key outside any section (it belongs in [daemon])"),
        (["flavour = 1"], "test.toml:1: flavour: a key outside any section"),
        (["[daemon]", "mount = \"m\"", "", "[flavour]", "x = 1"], "test.toml:4: unknown section [flavour]"),
        (["[daemon]", "mount = \"m\"", "flavour = \"x\""], "test.toml:3: [daemon] flavour: unknown key"),
        (["[limits]", "sessions = 1", "session = 1"], "test.toml:3: [limits] session: unknown key"),
        (["[dcbm]", "timeout = 5"], "test.toml:2: [dcbm] timeout: unknown key"),
    ] as [([String], String)])
    func keysOutsideTheirSection_nameTheirLine(lines: [String], expected: String) {
        #expect(Self.problem(lines) == expected)
    }

    @Test(arguments: [
        (["[daemon]", "mount = \"\""], "test.toml:2: [daemon] mount: expected a non-empty string"),
        (["[daemon]", "", "mount = 5"], "test.toml:3: [daemon] mount: expected a non-empty string"),
        (["[daemon]", "socket = \"\""], "test.toml:2: [daemon] socket: expected a non-empty string"),
        (["[daemon]", "log_level = \"loud\""], "test.toml:2: [daemon] log_level: expected one of trace, debug, info, notice, warning, error, critical"),
        (["[daemon]", "log_level = \"INFO\""], "test.toml:2: [daemon] log_level: expected one of trace, debug, info, notice, warning, error, critical"),
        (["[daemon]", "group = \"\""], "test.toml:2: [daemon] group: expected a group name"),
        (["[daemon]", "group = 0"], "test.toml:2: [daemon] group: expected a group name"),
        (["[knobs]", "\"mtcopy/threads\" = 4", "\"dcbm/nr_dma_chan\" = [1]"], "test.toml:3: [knobs] dcbm/nr_dma_chan: expected a string, an integer or a boolean"),
        (["[knobs]", "\"mtcopy/threads\" = 4.5"], "test.toml:2: [knobs] mtcopy/threads: expected a string, an integer or a boolean"),
    ] as [([String], String)])
    func badDaemonAndKnobValues_nameTheirLine(lines: [String], expected: String) {
        #expect(Self.problem(lines) == expected)
    }

    /// `[[limits]]` (an array of tables) where `[limits]` belongs: nothing in it is read, so it
    /// must be an error, not a config that silently drops its limits or knob lines.
    @Test(arguments: [
        ["[[limits]]", "sessions = 0"], ["[[daemon]]", "mount = \"\""], ["[[dcbm]]", "timeout_ms = 0"],
        ["[[knobs]]", "\"mtcopy/threads\" = 4"],
    ])
    func aSectionWrittenAsAnArrayOfTables_isAnError(lines: [String]) {
        #expect(Self.problem(lines) == "test.toml:1: [\(lines[0].dropFirst().dropLast())]: expected one [\(lines[0].dropFirst(2).dropLast(2))] table")
    }

    /// A dotted key names its own line, like any other key.
    @Test func aDottedKey_namesItsOwnLine() {
        withKnownIssue("ConfigSource records `limits.sessions` as one key, so the error falls back to the table's header line") {
            #expect(Self.problem(["# the limits", "", "limits.sessions = 0"]) == "test.toml:3: [limits] sessions: expected an integer from 1 to 1000000")
        }
    }

    @Test func aTOMLSyntaxError_namesItsLine() throws {
        let problem = try #require(Self.problem(["[daemon]", "mount = \"m\"", "", "this is not toml"]))
        #expect(problem.hasPrefix("test.toml:4: "))
    }

    // MARK: [limits] and [dcbm]

    static let counts: [(key: String, range: ClosedRange<Int>)] = [
        ("sessions", 1...1_000_000), ("sessions_per_uid", 1...1_000_000), ("named_spaces", 0...1_000_000),
        ("named_spaces_per_uid", 0...1_000_000), ("folios_per_space", 1...FolioTableLayout.capacity),
        ("attach_timeout_ms", 1...3_600_000), ("reply_timeout_ms", 1...3_600_000),
    ]

    @Test(arguments: counts)
    func limitCounts_outOfRangeOrNotIntegers_nameTheirLine(key: String, range: ClosedRange<Int>) {
        let expected = "test.toml:3: [limits] \(key): expected an integer from \(range.lowerBound) to \(range.upperBound)"
        for value in ["\(range.lowerBound - 1)", "\(range.upperBound + 1)", "-1000000000", "\"5\"", "5.0", "true", "[5]"] {
            #expect(Self.problem(["[limits]", "# the bounds are checked", "\(key) = \(value)"]) == expected, "\(key) = \(value)")
        }
    }

    @Test(arguments: counts)
    func limitCounts_atTheirBounds_areTaken(key: String, range: ClosedRange<Int>) throws {
        for value in [range.lowerBound, range.upperBound] {
            let limits = try Self.parse(["[limits]", "\(key) = \(value)"]).limits
            let taken: Int = switch key {
            case "sessions": limits.sessions
            case "sessions_per_uid": limits.sessionsPerUID
            case "named_spaces": limits.namedSpaces
            case "named_spaces_per_uid": limits.namedSpacesPerUID
            case "folios_per_space": limits.space.folios
            case "attach_timeout_ms": Int(limits.attachTimeout / .milliseconds(1))
            default: Int(limits.replyTimeout / .milliseconds(1))
            }
            #expect(taken == value, "\(key) = \(value)")
        }
    }

    @Test(arguments: ["bytes_per_space", "bytes_per_uid"])
    func limitSizes_arePositiveSizes(key: String) throws {
        for (value, bytes) in [("\"4G\"", 4 << 30), ("\"512k\"", 512 << 10), ("4096", 4096), ("1", 1), ("\"3\"", 3), ("\"1T\"", 1 << 40)] {
            let limits = try Self.parse(["[limits]", "\(key) = \(value)"]).limits
            #expect((key == "bytes_per_space" ? limits.space.bytes : limits.bytesPerUID) == bytes, "\(key) = \(value)")
        }
        for value in ["0", "\"0K\"", "-1", "\"-1G\"", "\"4X\"", "\"\"", "true", "1.5", "\"99999999T\""] {
            #expect(Self.problem(["[limits]", "", "\(key) = \(value)"]) == "test.toml:3: [limits] \(key): expected a positive size (\"4G\")", "\(key) = \(value)")
        }
    }

    @Test func dcbmTimeout_isMillisecondsFromOneTo600000() throws {
        #expect(try Self.parse(["[dcbm]", "timeout_ms = 1"]).dmaTimeout == .milliseconds(1))
        #expect(try Self.parse(["[dcbm]", "timeout_ms = 600000"]).dmaTimeout == .seconds(600))
        for value in ["0", "600001", "\"5\"", "-5", "2.5"] {
            #expect(Self.problem(["[daemon]", "mount = \"m\"", "[dcbm]", "timeout_ms = \(value)"]) == "test.toml:4: [dcbm] timeout_ms: expected an integer from 1 to 600000", "timeout_ms = \(value)")
        }
    }

    // MARK: what a config gives

    @Test func anEmptyConfig_hasTheDefaults() throws {
        let config = try Self.parse([])
        let defaults = ServiceLimits()
        #expect(config.mount == "mnt" && config.socket == "run/foliod.sock")
        #expect(config.logLevel == .info && config.group == nil && config.dmaTimeout == .seconds(2))
        #expect(config.knobs.isEmpty)
        #expect(config.limits.sessions == defaults.sessions && config.limits.namedSpacesPerUID == defaults.namedSpacesPerUID)
        #expect(config.limits.bytesPerUID == .max && config.limits.space.folios == FolioTableLayout.capacity)
        // No [[tiers]]: the machine's, one per memory tier and distance (MachineTiersTests).
        var choices: [String] = [], nodeChoices: [String] = []
        #expect(config.tiers == TierConfig.fromMachine(choices: &choices, nodeChoices: &nodeChoices))
        #expect(!config.tiers.isEmpty && config.nodeChoices == nodeChoices)
        #expect(config.tiers.map(\.name) == config.tiers.indices.map { "tier\($0)" })
    }

    @Test func aWholeConfig_isTakenAsWritten() throws {
        let config = try Self.parse([
            "[daemon]", "mount = \"/run/foliod/knobs\"", "socket = \"@foliod\"", "log_level = \"debug\"", "group = \"foliod\"",
            "[limits]", "sessions = 10", "bytes_per_uid = \"1G\"", "reply_timeout_ms = 250",
            "[dcbm]", "timeout_ms = 50",
            "[knobs]", "\"migration/offload_migrator\" = \"dcbm\"", "\"dcbm/offloading\" = true", "\"mtcopy/threads\" = 7", "\"tiering/enabled\" = false",
            "[[tiers]]", "name = \"fast\"", "size = \"64M\"", "[[tiers]]", "name = \"slow\"", "size = 134217728", "huge_pages = \"none\"",
        ])
        #expect(config.mount == "/run/foliod/knobs" && config.socket == "@foliod" && config.logLevel == .debug && config.group == "foliod")
        #expect(config.limits.sessions == 10 && config.limits.bytesPerUID == 1 << 30 && config.limits.replyTimeout == .milliseconds(250))
        #expect(config.dmaTimeout == .milliseconds(50))
        #expect(config.knobs.map(\.path) == ["migration/offload_migrator", "dcbm/offloading", "mtcopy/threads", "tiering/enabled"])
        #expect(config.knobs.map(\.value) == ["dcbm", "1", "7", "0"], "a boolean is what echo would write")
        #expect(config.knobs.map(\.line) == [13, 14, 15, 16])
        #expect(config.tiers.map(\.name) == ["fast", "slow"] && config.tiers.map(\.sizeBytes) == [64 << 20, 128 << 20])
        let overridden = try config.overridden(mount: "m2", socket: "s2", logLevel: "error")
        #expect(overridden.mount == "m2" && overridden.socket == "s2" && overridden.logLevel == .error)
        #expect(throws: DaemonConfig.Problem.self) { try config.overridden(logLevel: "loud") }
    }
}
