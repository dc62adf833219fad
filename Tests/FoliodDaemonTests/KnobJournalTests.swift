@testable import FoliodDaemon
import Sysfs
import Testing

/// A restart ends in the knob state the operator left, whatever knobs and order they used:
/// one node is steered by writes, its journal's text is read back by a second node built from
/// the same config, as a restarted daemon does with the memfd in the fd store.
struct KnobJournalTests {
    static let config = """
        [[tiers]]
        name = "fast"
        size = "16M"

        [[tiers]]
        name = "slow"
        size = "16M"

        [knobs]
        "mtcopy/threads" = 3
        """

    static func node(_ config: String = KnobJournalTests.config) throws -> DaemonNode {
        try buildDaemon(config: try DaemonConfig.parse(config, path: "test.toml"), configPath: "test.toml")
    }

    /// Writes `writes` to a first node, restarts into a second from its journal text, and
    /// returns the second's settings with the first's.
    static func restart(after writes: [(String, String)], config: String = KnobJournalTests.config,
                        newConfig: String? = nil) throws -> (before: [KnobSetting], after: [KnobSetting], refused: [KnobError]) {
        let first = try node(config)
        for (path, value) in writes { _ = try first.tree.attribute(path).write(value + "\n") }
        let text = KnobJournal.format(first.journalContents)
        let second = try node(newConfig ?? config)
        let refused = second.restore(KnobJournal.parse(text))
        return (first.tree.settings(), second.tree.settings(), refused)
    }

    static func show(_ settings: [KnobSetting], _ path: String) -> String? {
        settings.first { $0.path == path }?.value
    }

    @Test(arguments: [
        [("migration/offload_migrator", "dcbm")],
        [("dcbm/offloading", "1"), ("migration/offload_migrator", "mtcopy")],
        [("mtcopy/offloading", "1"), ("mtcopy/offloading", "0"), ("dcbm/offloading", "1")],
        [("dcbm/nr_dma_chan", "4"), ("mtcopy/threads", "9"), ("migration/reason_mask", "demotion,promotion"), ("migration/offload_migrator", "mtcopy")],
    ])
    func restart_endsWhereTheOperatorLeftTheTree(writes: [(String, String)]) throws {
        let (before, after, refused) = try Self.restart(after: writes)
        #expect(refused.isEmpty)
        #expect(after == before)
        #expect(Self.show(after, "migration/offload_migrator") == Self.show(before, "migration/offload_migrator"))
    }

    @Test func restart_restoresWatermarksThatConstrainEachOtherInAnyDirection() throws {
        // Raised past the old high, then lowered below the old min: each needs its own order.
        for writes in [[("tiers/fast/watermark_high", "12582912"), ("tiers/fast/watermark_low", "10485760"), ("tiers/fast/watermark_min", "8388608")],
                       [("tiers/fast/watermark_min", "4096"), ("tiers/fast/watermark_low", "8192"), ("tiers/fast/watermark_high", "16384")]] {
            let (before, after, refused) = try Self.restart(after: writes)
            #expect(refused.isEmpty)
            #expect(Self.show(after, "tiers/fast/watermark_min") == writes.first { $0.0.hasSuffix("min") }?.1)
            #expect(after == before)
        }
    }

    @Test func restart_keepsWhatWasWrittenOverTheConfigButTakesALineEditedSince() throws {
        let kept = try Self.restart(after: [("mtcopy/threads", "7")])
        #expect(Self.show(kept.after, "mtcopy/threads") == "7")
        let edited = try Self.restart(after: [("mtcopy/threads", "7"), ("dcbm/nr_dma_chan", "5")],
                                      newConfig: Self.config.replacingOccurrences(of: "= 3", with: "= 11"))
        #expect(Self.show(edited.after, "mtcopy/threads") == "11")
        #expect(Self.show(edited.after, "dcbm/nr_dma_chan") == "5")
    }

    @Test func settings_leaveOutCountersResetsAndViews() throws {
        let paths = Set(try Self.node().tree.settings().map(\.path))
        #expect(paths.contains("migration/offload_migrator"))
        #expect(paths.contains("tiering/enabled"))
        #expect(!paths.contains("dcbm/offloading"))
        #expect(!paths.contains("mtcopy/folios_migrated"))
        #expect(!paths.contains("migration/stats/batch_latency_ns"))
    }

    @Test func parse_readsItsOwnFormatAndAnOlderJournalAsState() {
        let contents = KnobJournal.Contents(state: [KnobSetting(path: "a/b", value: "1 2", line: 1)],
                                            config: [KnobSetting(path: "c", value: "x", line: 2)])
        #expect(KnobJournal.parse(KnobJournal.format(contents)) == contents)
        #expect(KnobJournal.parse("dcbm/nr_dma_chan\t4\nnot a line\n").state == [KnobSetting(path: "dcbm/nr_dma_chan", value: "4", line: 1)])
    }
}
