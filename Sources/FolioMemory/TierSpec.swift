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
    /// Whether the config said `auto` and this machine chose `hugePages`.
    public var chosenAutomatically = false

    public init(name: String, sizeBytes: Int, node: Int? = nil, hugePages: HugePageMode = .none) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.node = node
        self.hugePages = hugePages
    }

    /// What `huge_pages = "auto"` gives a tier of `sizeBytes` when `freeHugeBytes` of reserved
    /// huge pages are not yet claimed: hugetlb if they hold the whole tier, else shmem THP if
    /// `shmem_enabled` allows `madvise`, else base pages; and why, for the log.
    public static func automaticMode(sizeBytes: Int, freeHugeBytes: Int) -> (HugePageMode, String) {
        if freeHugeBytes >= sizeBytes { return (.hugetlb, "\(freeHugeBytes >> 20) MiB of reserved huge pages hold it") }
        let thp = TierSpec(name: "", sizeBytes: sizeBytes, hugePages: .thp)
        if thp.unavailability() == nil { return (.thp, "\(freeHugeBytes >> 20) MiB of reserved huge pages are too few; shmem THP is allowed") }
        return (.none, "\(freeHugeBytes >> 20) MiB of reserved huge pages are too few and shmem THP is off (shmem_enabled: \(shmemSetting))")
    }

    /// Bytes of reserved huge pages not in use (`HugePages_Free` × `Hugepagesize`).
    public static func freeHugeBytes() -> Int {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                return line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            }
            return 0
        }
        return field("HugePages_Free") * (field("Hugepagesize") << 10)
    }

    /// What `tiers/<name>/huge_pages` shows: the mode, and `(auto)` when the machine chose it.
    public var hugePagesDescription: String {
        hugePages.rawValue + (chosenAutomatically ? " (auto)" : "")
    }

    private static var shmemSetting: String {
        trimmed((try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/shmem_enabled", encoding: .utf8)) ?? "unreadable")
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
