import FolioClient
import FolioMemory
@testable import FoliodDaemon
import FolioService
import Foundation
import SystemPackage
import Testing
import TestSupport

/// `buildDaemon` in this process: the node its config makes, config errors, and what
/// `huge_pages = "auto"` chooses. (The client library's own tests are `FolioClientTests`.)
@Suite(.serialized)
struct ServiceCoreTests {
    @Test func buildDaemon_appliesTheKnobLinesAndTheTiers() throws {
        let core = try InProcessDaemon()
        #expect(core.node.core.pipeline.batchSize == 4)
        #expect(core.node.tiers.map(\.spec.sizeBytes) == [16 << 20, 8 << 20])
        #expect(try core.node.tree.attribute("migration/batch_size").show() == Array("4\n".utf8))
    }

    @Test func aBadConfig_namesItsLine_inProcess() {
        #expect {
            _ = try DaemonConfig.parse("[[tiers]]\nname = \"fast\"\nsize = \"3M\"\n", path: "bad.toml")
        } throws: { error in
            "\(error)".hasPrefix("bad.toml:3: [[tiers]] size: expected a positive multiple of 2 MiB")
        }
    }

    @Test func hugePagesAuto_choosesWhatTheMachineHas_andSaysWhy() throws {
        let config = try DaemonConfig.parse("[[tiers]]\nname = \"fast\"\nsize = \"4M\"\nhuge_pages = \"auto\"\n", path: "auto.toml")
        let spec = try #require(config.tiers.first)
        let expected = HostMemory.automaticMode(sizeBytes: 4 << 20, freeHugeBytes: HostMemory.freeHugeBytes()).0
        #expect(spec.chosenAutomatically && spec.hugePages == expected)
        #expect(spec.hugePagesDescription == "\(expected.rawValue) (auto)")
        #expect(config.hugePageChoices == ["tier fast: huge_pages auto chose \(expected.rawValue): \(HostMemory.automaticMode(sizeBytes: 4 << 20, freeHugeBytes: HostMemory.freeHugeBytes()).1)"])
        #expect(HostMemory.automaticMode(sizeBytes: 4 << 20, freeHugeBytes: 8 << 20).0 == .hugetlb)
        #expect(HostMemory.automaticMode(sizeBytes: 4 << 20, freeHugeBytes: 2 << 20).0 != .hugetlb)
    }
}
