import FolioMemory
import FolioProtocol
import FoundationEssentials
import TOMLKit

/// The `[[tiers]]` tables of the config file.
enum TierConfig {
    static let keys: Set<String> = ["name", "size", "node", "huge_pages"]
    /// Tier sizes are whole 2 MiB blocks (the largest folio).
    static let sizeUnit = 2 << 20

    /// Parses and checks every tier: names unique, sizes in whole 2 MiB, a node that exists
    /// (or `"auto"`: the machine's tier at the tier's position, `MachineTiers`), a huge-page
    /// mode this machine can give. What `auto` chose goes to `choices` (huge pages) and
    /// `nodeChoices`, for the log.
    static func parse(_ array: TOMLArray, source: ConfigSource, choices: inout [String], nodeChoices: inout [String]) throws(DaemonConfig.Problem) -> [TierSpec] {
        // Refused before any tier is probed: the count alone decides.
        guard array.count <= maxTiers else {
            let line = source.line(ofKey: "name", inArrayTable: "tiers", index: maxTiers)
            throw DaemonConfig.Problem(description: "\(source.path):\(line): [[tiers]]: at most \(maxTiers) tiers (an attach carries a memfd for each)")
        }
        var specs: [TierSpec] = []
        // Huge pages an `auto` tier may still claim, per node (-1: the whole machine's, for a
        // tier bound to none); each hugetlb tier takes its size.
        var freeHuge = HugePageBudget()
        var machine: MachineTiers?
        for index in 0..<array.count {
            func fail(_ key: String, _ reason: String) -> DaemonConfig.Problem {
                let line = source.line(ofKey: key, inArrayTable: "tiers", index: index)
                return DaemonConfig.Problem(description: "\(source.path):\(line): [[tiers]] \(key): \(reason)")
            }
            guard let table = array[index].table else { throw fail("", "expected a table") }
            for key in table.keys where !keys.contains(key) { throw fail(key, "unknown key") }
            guard let name = table["name"]?.string, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw fail("name", "expected a name of letters, digits, '_' or '-'")
            }
            guard !specs.contains(where: { $0.name == name }) else { throw fail("name", "tier '\(name)' is defined twice") }
            // A tier's memfds are named foliod-SPACE-NAME, beside the space's own -table,
            // -pins and -meta, which node_bytes must not count as a tier's; and a memfd name
            // holds at most 249 bytes.
            guard !["table", "pins", "meta"].contains(name) else { throw fail("name", "'\(name)' names a space's own memfd; choose another") }
            guard name.utf8.count <= 64 else { throw fail("name", "at most 64 bytes") }
            guard let size = table["size"].flatMap(byteCount), size > 0, size % sizeUnit == 0 else {
                throw fail("size", "expected a positive multiple of 2 MiB, as bytes or with K, M, G or T (\"512M\")")
            }
            var node: Int?
            var nodeChoice: String?
            if let value = table["node"] {
                if value.string == "auto" {
                    if machine == nil { machine = MachineTiers.read() }
                    let groups = machine?.groups ?? []
                    if groups.isEmpty {
                        nodeChoice = "auto: not bound (sysfs lists no NUMA nodes)"
                    } else {
                        (node, nodeChoice) = MachineTiers.binding(of: groups[min(index, groups.count - 1)])
                    }
                    nodeChoices.append("tier \(name): node \(nodeChoice!)")
                } else {
                    guard let number = value.int, number >= 0 else { throw fail("node", "expected a node number or \"auto\"") }
                    node = number
                }
            }
            var mode = HugePageMode.none
            var automatic: String?
            if let value = table["huge_pages"] {
                if value.string == "auto" {
                    (mode, automatic) = freeHuge.automaticMode(sizeBytes: size, node: node)
                } else {
                    guard let parsed = value.string.flatMap(HugePageMode.init(rawValue:)) else {
                        throw fail("huge_pages", "expected auto or one of \(HugePageMode.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    mode = parsed
                }
            }
            if mode == .hugetlb { freeHuge.claim(size, node: node) }
            var spec = TierSpec(name: name, sizeBytes: size, node: node, hugePages: mode)
            spec.chosenAutomatically = automatic != nil
            spec.nodeChoice = nodeChoice
            if let automatic { choices.append("tier \(name): huge_pages auto chose \(mode.rawValue): \(automatic)") }
            if let reason = HostMemory.unavailability(of: spec) { throw fail(node != nil && reason.hasPrefix("NUMA") ? "node" : "huge_pages", "tier '\(name)': \(reason)") }
            specs.append(spec)
        }
        // Tiers are sparse until used, but a config that could never be filled is a mistake.
        let total = specs.reduce(0) { $0 + $1.sizeBytes }
        if let memory = machineMemory(), total > memory, !specs.isEmpty {
            let line = source.line(ofKey: "size", inArrayTable: "tiers", index: specs.count - 1)
            throw DaemonConfig.Problem(description: "\(source.path):\(line): [[tiers]] size: the tiers add up to \(total) bytes, more than this machine's memory (\(memory) bytes, MemTotal)")
        }
        return specs
    }

    /// The tiers of a config without `[[tiers]]`: one per group of `MachineTiers` (a memory
    /// tier, split by distance), fastest first, named `tier0`, `tier1`, …, each half its nodes'
    /// memory in whole 2 MiB and `huge_pages = "auto"` on its node's reservation. A machine
    /// whose sysfs shows no nodes gets one unbound tier of half its memory. Each choice goes to
    /// `nodeChoices` (`tiers from the machine: …`), each huge-page choice to `choices`.
    static func fromMachine(_ machine: MachineTiers = .read(), choices: inout [String], nodeChoices: inout [String]) -> [TierSpec] {
        var freeHuge = HugePageBudget()
        var groups = machine.groups.filter { $0.memoryBytes >= 2 * sizeUnit }
        var unbound = false
        if groups.isEmpty {
            groups = [MachineTiers.Group(nodes: [], memoryBytes: machineMemory() ?? 2 * sizeUnit, reason: "sysfs lists no NUMA nodes")]
            unbound = true
        }
        var specs: [TierSpec] = []
        for (index, group) in groups.prefix(maxTiers).enumerated() {
            let size = max(sizeUnit, group.memoryBytes / 2 / sizeUnit * sizeUnit)
            let (node, choice) = unbound ? (nil, "auto: not bound: \(group.reason)") : MachineTiers.binding(of: group)
            var spec = TierSpec(name: "tier\(index)", sizeBytes: size, node: node)
            let (mode, why) = freeHuge.automaticMode(sizeBytes: size, node: node)
            spec.hugePages = mode
            spec.chosenAutomatically = true
            spec.nodeChoice = choice
            if mode == .hugetlb { freeHuge.claim(size, node: node) }
            nodeChoices.append("tiers from the machine: \(spec.name), \(size >> 20) MiB, \(choice)")
            choices.append("tier \(spec.name): huge_pages auto chose \(mode.rawValue): \(why)")
            specs.append(spec)
        }
        return specs
    }

    /// Reserved huge pages not yet claimed by a tier, per node (-1: the machine's).
    struct HugePageBudget {
        private var free: [Int: Int] = [:]

        /// What `huge_pages = "auto"` gives a tier of `sizeBytes` on `node` (its own
        /// reservation; the machine's for a tier bound to none), and why.
        mutating func automaticMode(sizeBytes: Int, node: Int?) -> (HugePageMode, String) {
            let bytes = available(node)
            let (mode, why) = HostMemory.automaticMode(sizeBytes: sizeBytes, freeHugeBytes: bytes)
            return (mode, node.map { why + " (node \($0)'s own reservation)" } ?? why)
        }

        mutating func claim(_ bytes: Int, node: Int?) { free[node ?? -1] = available(node) - bytes }

        private mutating func available(_ node: Int?) -> Int {
            if let bytes = free[node ?? -1] { return bytes }
            let bytes = node.map(HostMemory.freeHugeBytes(node:)) ?? HostMemory.freeHugeBytes()
            free[node ?? -1] = bytes
            return bytes
        }
    }

    /// `1073741824`, `"1G"`, `"512M"`, `"64k"`: a suffix K, M, G or T in either case (powers of
    /// 1024, as `memparse()` reads them).
    static func byteCount(_ value: any TOMLValueConvertible) -> Int? {
        if let bytes = value.int { return bytes }
        guard let text = value.string, let unit = text.last else { return nil }
        // Looked up as a String: the upper case of a letter can be two ("ß" is "SS").
        let shifts: [String: Int] = ["K": 10, "M": 20, "G": 30, "T": 40]
        guard let shift = shifts[unit.uppercased()] else { return Int(text) }
        guard let number = Int(text.dropLast()), number >= 0, number <= Int.max >> shift else { return nil }
        return number << shift
    }

    /// MemTotal from /proc/meminfo, in bytes (nil if it cannot be read).
    static func machineMemory() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes << 10
        }
        return nil
    }
}
