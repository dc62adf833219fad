import FoundationEssentials

/// One tier as the config file describes it.
public struct TierSpec: Sendable, Equatable {
    /// The tier's name (`fast`, `slow`).
    public var name: String
    /// Bytes of folios the tier holds across every address space (a multiple of 2 MiB).
    public var sizeBytes: Int
    /// The NUMA node its memory is bound to, or nil for the default policy.
    public var node: Int?
    /// How its memory is backed.
    public var hugePages: HugePageMode

    public init(name: String, sizeBytes: Int, node: Int? = nil, hugePages: HugePageMode = .none) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.node = node
        self.hugePages = hugePages
    }

    /// Why this machine cannot give the tier what it asks for, if it cannot.
    public func unavailability() -> String? {
        if let node, !FileManager.default.fileExists(atPath: "/sys/devices/system/node/node\(node)") {
            return "NUMA node \(node) does not exist on this machine"
        }
        switch hugePages {
        case .none:
            return nil
        case .thp:
            let setting = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/shmem_enabled", encoding: .utf8)) ?? ""
            let enabled = ["[always]", "[within_size]", "[advise]", "[force]"].contains { setting.contains($0) }
            return enabled ? nil : "thp: shmem transparent huge pages are disabled (shmem_enabled: \(Self.trimmed(setting)))"
        case .hugetlb:
            let reserved = (try? String(contentsOfFile: "/proc/sys/vm/nr_hugepages", encoding: .utf8)).flatMap { Int(Self.trimmed($0)) } ?? 0
            return reserved > 0 ? nil : "hugetlb: no huge pages are reserved (vm.nr_hugepages is 0)"
        }
    }

    /// `text` without leading and trailing white space (the newline a /proc or /sys file ends with).
    private static func trimmed(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
