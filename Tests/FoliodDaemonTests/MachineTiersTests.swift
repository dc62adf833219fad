import FolioMemory
import FoundationEssentials
import Testing
@testable import FoliodDaemon

/// The machine's tiers (`MachineTiers`) from sysfs trees of our own, shaped as the kernels we
/// know write them, and `NodeResidency`'s reading of numa_maps and node lists. Tests/vm/run
/// checks the same on a booted three-node machine.
struct MachineTiersTests {
    /// A sysfs tree below a new directory: `files` maps a path below it to its text.
    static func tree(_ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.path + "/machine-tiers-\(UUID().uuidString)"
        for (path, text) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: String(full[..<full.lastIndex(of: "/")!]), withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: false, encoding: .utf8)
        }
        return root
    }

    /// Three nodes, node 0 with the CPUs, at `distances` from each other, with `tiers`.
    static func threeNodes(distances: [String], tiers: [String: String]) throws -> String {
        var files = [
            "sys/devices/system/node/online": "0-2\n",
            "sys/devices/system/node/has_memory": "0-2\n",
            "sys/devices/system/node/has_cpu": "0\n",
        ]
        for node in 0..<3 {
            files["sys/devices/system/node/node\(node)/distance"] = distances[node] + "\n"
            files["sys/devices/system/node/node\(node)/meminfo"] = "Node \(node) MemTotal:        1048576 kB\nNode \(node) MemFree:  1000 kB\n"
        }
        for (id, nodes) in tiers { files["sys/devices/virtual/memory_tiering/memory_tier\(id)/nodelist"] = nodes + "\n" }
        return try tree(files)
    }

    @Test func oneMemoryTier_isSplitByDistanceFromTheCPUs() throws {
        // A 6.1 kernel without HMAT data: every node in the DRAM tier (memory_tier4).
        let root = try Self.threeNodes(distances: ["10 20 30", "20 10 20", "30 20 10"], tiers: ["4": "0-2"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let machine = MachineTiers.read(root: root)
        #expect(machine.groups.map(\.nodes) == [[0], [1], [2]])
        #expect(machine.groups.map(\.memoryBytes) == [1 << 30, 1 << 30, 1 << 30])
        #expect(machine.groups[2].reason == "memory_tier4 (nodes 0-2), distance 30 from node 0")
    }

    @Test func memoryTiers_comeFirst_fastestFirst() throws {
        // Node 2 in a slower memory tier (memory_tier22) though nearer than node 1.
        let root = try Self.threeNodes(distances: ["10 30 20", "30 10 20", "20 20 10"], tiers: ["4": "0-1", "22": "2"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(MachineTiers.read(root: root).groups.map(\.nodes) == [[0], [1], [2]])
    }

    /// Two CPU-less nodes at one distance (two CXL expanders): a tier each, bound, or nothing
    /// would ever place pages there.
    @Test func cpuLessNodesAtOneDistance_getATierEach_bound() throws {
        let root = try Self.threeNodes(distances: ["10 20 20", "20 10 20", "20 20 10"], tiers: ["4": "0-2"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let machine = MachineTiers.read(root: root)
        #expect(machine.groups.map(\.nodes) == [[0], [1], [2]])
        #expect(machine.groups.map { MachineTiers.binding(of: $0).node } == [0, 1, 2])
        #expect(machine.groups[2].reason.hasSuffix("a tier per CPU-less node"))
    }

    /// Two sockets' DRAM (both with CPUs, at one distance): one tier, unbound.
    @Test func nodesWithCPUsAtOneDistance_shareATier_unbound() throws {
        let root = try Self.threeNodes(distances: ["10 10 20", "10 10 20", "20 20 10"], tiers: ["4": "0-2"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "0-1\n".write(toFile: root + "/sys/devices/system/node/has_cpu", atomically: false, encoding: .utf8)
        let machine = MachineTiers.read(root: root)
        #expect(machine.groups.map(\.nodes) == [[0, 1], [2]])
        let near = MachineTiers.binding(of: machine.groups[0])
        #expect(near.node == nil && near.choice.hasPrefix("auto: nodes 0-1, not bound"))
    }

    /// `nodeN/distance` has a column per online node, in order: with nodes 0, 2 and 3 online,
    /// node 3's distance is the third column, not the fourth.
    @Test func distances_areReadByOnlinePosition() throws {
        var files = [
            "sys/devices/system/node/online": "0,2-3\n",
            "sys/devices/system/node/has_memory": "0,2-3\n",
            "sys/devices/system/node/has_cpu": "0\n",
        ]
        for (node, row) in [(0, "10 30 20"), (2, "30 10 20"), (3, "20 20 10")] {
            files["sys/devices/system/node/node\(node)/distance"] = row + "\n"
            files["sys/devices/system/node/node\(node)/meminfo"] = "Node \(node) MemTotal: 1048576 kB\n"
        }
        let root = try Self.tree(files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(MachineTiers.read(root: root).groups.map(\.nodes) == [[0], [3], [2]])
    }

    @Test func noMemoryTiers_stillSplitsByDistance() throws {
        let root = try Self.threeNodes(distances: ["10 20 30", "20 10 20", "30 20 10"], tiers: [:])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let machine = MachineTiers.read(root: root)
        #expect(machine.groups.map(\.nodes) == [[0], [1], [2]])
        #expect(machine.groups[0].reason.hasPrefix("no memory tiers (nodes 0-2)"))
    }

    @Test func aMachineWithoutNodes_getsOneUnboundTier() throws {
        let root = try Self.tree(["sys/devices/system/placeholder": ""])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let machine = MachineTiers.read(root: root)
        #expect(machine.groups.isEmpty)
        var choices: [String] = [], nodeChoices: [String] = []
        let tiers = TierConfig.fromMachine(machine, choices: &choices, nodeChoices: &nodeChoices)
        #expect(tiers.count == 1 && tiers[0].node == nil && tiers[0].name == "tier0")
        #expect(tiers[0].sizeBytes % TierConfig.sizeUnit == 0 && tiers[0].sizeBytes > 0)
    }

    @Test func theConfigsTiers_halfEachGroupsMemory_named() throws {
        let root = try Self.threeNodes(distances: ["10 20 30", "20 10 20", "30 20 10"], tiers: ["4": "0-2"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        var choices: [String] = [], nodeChoices: [String] = []
        let tiers = TierConfig.fromMachine(MachineTiers.read(root: root), choices: &choices, nodeChoices: &nodeChoices)
        #expect(tiers.map(\.name) == ["tier0", "tier1", "tier2"])
        #expect(tiers.map(\.node) == [0, 1, 2])
        #expect(tiers.allSatisfy { $0.sizeBytes == 512 << 20 && $0.chosenAutomatically })
        #expect(nodeChoices[1] == "tiers from the machine: tier1, 512 MiB, auto: node 1: memory_tier4 (nodes 0-2), distance 20 from node 0")
        #expect(tiers[1].nodeChoice == "auto: node 1: memory_tier4 (nodes 0-2), distance 20 from node 0")
        #expect(choices.count == 3)
    }

    @Test func nodeLists_parseAsTheKernelWritesThem() {
        #expect(NodeResidency.nodeList("0-2,4\n") == [0, 1, 2, 4])
        #expect(NodeResidency.nodeList("\n") == [])
        #expect(NodeResidency.nodeList("2-1") == nil && NodeResidency.nodeList("x") == nil)
        #expect(MachineTiers.describe([4, 0, 1, 2]) == "0-2,4")
    }

    @Test func numaMaps_countEachTiersMemfdsPerNode() {
        let maps = """
        7f0000000000 bind:1 file=/memfd:foliod-1-far\\040(deleted) dirty=3 N1=3 kernelpagesize_kB=4
        7f0000100000 bind:1 file=/memfd:foliod-2-far\\040(deleted) dirty=1 N0=1 N1=1 kernelpagesize_kB=4
        7f0000200000 bind:2 file=/memfd:foliod-1-not-far\\040(deleted) dirty=9 N2=9 kernelpagesize_kB=4
        7f0000300000 bind:2 file=/memfd:foliod-1-huge\\040(deleted) huge dirty=2 N2=2 kernelpagesize_kB=2048
        7f0000400000 default file=/usr/bin/far mapped=5 N1=5 kernelpagesize_kB=4
        """
        #expect(NodeResidency.bytesPerNode(ofTier: "far", numaMaps: maps) == [0: 4096, 1: 4 * 4096])
        #expect(NodeResidency.line(ofTier: "huge", numaMaps: maps, nodes: [0, 1, 2]) == "N0=0 N1=0 N2=\(4 << 20)\n")
        #expect(NodeResidency.line(ofTier: "none", numaMaps: maps, nodes: [0]) == "N0=0\n")
    }
}
