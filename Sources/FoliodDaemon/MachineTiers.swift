import FolioMemory
import FoundationEssentials

/// The machine's memory as tiers, fastest first, read from sysfs: the kernel's own memory tiers
/// (`/sys/devices/virtual/memory_tiering/memory_tierN/nodelist`, lower N faster) and, where one
/// of them holds nodes at different distances (a 6.1 kernel puts a CPU-less node without HMAT
/// data in the DRAM tier), the node distances from the nodes with CPUs
/// (`/sys/devices/system/node/nodeN/distance`, `has_cpu`). What `node = "auto"` and a config
/// without `[[tiers]]` are given.
struct MachineTiers: Equatable {
    /// One tier's worth of nodes: the same memory tier, the same distance from the CPUs.
    struct Group: Equatable {
        var nodes: [Int]
        /// Total memory of those nodes (`MemTotal` of each `nodeN/meminfo`), in bytes.
        var memoryBytes: Int
        /// Why these nodes, for the log and `tiers/<name>/node_choice`.
        var reason: String
    }

    var groups: [Group]

    /// Reads sysfs below `root` ("" is this machine; the tests pass a tree of their own).
    static func read(root: String = "") -> MachineTiers {
        let nodeRoot = root + "/sys/devices/system/node"
        func text(_ path: String) -> String? { NodeResidency.readText(path) }
        let online = text(nodeRoot + "/online").flatMap(NodeResidency.nodeList) ?? []
        let withMemory = text(nodeRoot + "/has_memory").flatMap(NodeResidency.nodeList) ?? online
        let withCPUs = text(nodeRoot + "/has_cpu").flatMap(NodeResidency.nodeList) ?? []
        var distances: [Int: [Int]] = [:]
        var memory: [Int: Int] = [:]
        for node in Set(withMemory).union(withCPUs) {
            distances[node] = text("\(nodeRoot)/node\(node)/distance").map { $0.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } }
            memory[node] = text("\(nodeRoot)/node\(node)/meminfo").flatMap(memTotal)
        }
        var memoryTiers: [(id: Int, nodes: [Int])] = []
        let tierRoot = root + "/sys/devices/virtual/memory_tiering"
        // memory_tierN: N is the tier's abstract distance / 128 (memory_tier4 is DRAM's), so a
        // lower N is a faster tier.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: tierRoot)) ?? []
        for id in names.compactMap({ $0.hasPrefix("memory_tier") ? Int($0.dropFirst("memory_tier".count)) : nil }).sorted() {
            guard let list = text("\(tierRoot)/memory_tier\(id)/nodelist") else { continue }
            if let nodes = NodeResidency.nodeList(list), !nodes.isEmpty { memoryTiers.append((id, nodes)) }
        }
        return MachineTiers(memoryTiers: memoryTiers, nodesWithMemory: withMemory, nodesWithCPUs: withCPUs, online: online, distances: distances, memory: memory)
    }

    /// Groups from what `read` found: each memory tier in order (all nodes with memory as one,
    /// when the kernel has no memory tiers), split by distance from the nearest node with CPUs,
    /// nearest first. Several nodes at one distance share a tier when they have CPUs (two
    /// sockets' DRAM: unbound, each process's memory local to it); CPU-less ones (CXL
    /// expanders) get a tier each, bound, since no process would ever place memory there.
    /// `distances` rows are as `nodeN/distance` writes them: a column per online node, in the
    /// order of `online` (not by node number: online nodes may be sparse).
    init(memoryTiers: [(id: Int, nodes: [Int])], nodesWithMemory: [Int], nodesWithCPUs: [Int], online: [Int], distances: [Int: [Int]], memory: [Int: Int]) {
        let tiers = memoryTiers.isEmpty ? (nodesWithMemory.isEmpty ? [] : [(id: -1, nodes: nodesWithMemory)]) : memoryTiers
        func distance(_ node: Int) -> Int? {
            guard let column = online.firstIndex(of: node) else { return nil }
            return nodesWithCPUs.compactMap { cpu in distances[cpu].flatMap { column < $0.count ? $0[column] : nil } }.min()
        }
        groups = []
        for tier in tiers {
            let source = tier.id < 0 ? "no memory tiers (nodes \(Self.describe(tier.nodes)))" : "memory_tier\(tier.id) (nodes \(Self.describe(tier.nodes)))"
            let byDistance = Dictionary(grouping: tier.nodes.sorted(), by: distance)
            for (far, nodes) in byDistance.sorted(by: { ($0.key ?? .max) < ($1.key ?? .max) }) {
                var reason = source
                if let far {
                    reason += ", distance \(far) from node\(nodesWithCPUs.count == 1 ? "" : "s") \(Self.describe(nodesWithCPUs))"
                }
                guard nodes.count > 1, !nodes.contains(where: nodesWithCPUs.contains) else {
                    groups.append(Group(nodes: nodes, memoryBytes: nodes.reduce(0) { $0 + (memory[$1] ?? 0) }, reason: reason))
                    continue
                }
                for node in nodes {
                    groups.append(Group(nodes: [node], memoryBytes: memory[node] ?? 0, reason: reason + ", a tier per CPU-less node"))
                }
            }
        }
    }

    /// `0-2,4` for [0, 1, 2, 4].
    static func describe(_ nodes: [Int]) -> String {
        var ranges: [String] = []
        var index = 0
        let sorted = nodes.sorted()
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 { end += 1 }
            ranges.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return ranges.joined(separator: ",")
    }

    /// `Node 1 MemTotal:  921076 kB`, in bytes.
    private static func memTotal(_ meminfo: String) -> Int? {
        for line in meminfo.split(separator: "\n") where line.contains("MemTotal:") {
            let fields = line.split(separator: " ")
            guard let index = fields.firstIndex(of: "MemTotal:"), index + 1 < fields.count, let kilobytes = Int(fields[index + 1]) else { return nil }
            return kilobytes << 10
        }
        return nil
    }

    /// The node a tier of `group` binds to (one node: that one; several: none, the kernel's
    /// default policy spreads it over them by where it runs) and what `node_choice` says.
    static func binding(of group: Group) -> (node: Int?, choice: String) {
        if group.nodes.count == 1 { return (group.nodes[0], "auto: node \(group.nodes[0]): \(group.reason)") }
        return (nil, "auto: nodes \(describe(group.nodes)), not bound (the default policy): \(group.reason)")
    }
}
