import FolioMemory
import FoundationEssentials

/// What this machine can give a tier, read from `/proc` and `/sys`: the daemon's config
/// checks ask it, and nothing a client links does.
enum HostMemory {
    /// What `huge_pages = "auto"` gives a tier of `sizeBytes` when `freeHugeBytes` of reserved
    /// huge pages are not yet claimed: hugetlb if they hold the whole tier, else shmem THP if
    /// `shmem_enabled` allows `madvise`, else base pages; and why, for the log.
    static func automaticMode(sizeBytes: Int, freeHugeBytes: Int) -> (HugePageMode, String) {
        if freeHugeBytes >= sizeBytes { return (.hugetlb, "\(freeHugeBytes >> 20) MiB of reserved huge pages hold it") }
        let thp = TierSpec(name: "", sizeBytes: sizeBytes, hugePages: .thp)
        if unavailability(of: thp) == nil { return (.thp, "\(freeHugeBytes >> 20) MiB of reserved huge pages are too few; shmem THP is allowed") }
        return (.none, "\(freeHugeBytes >> 20) MiB of reserved huge pages are too few and shmem THP is off (shmem_enabled: \(shmemSetting))")
    }

    /// Bytes of reserved huge pages not in use (`HugePages_Free` × `Hugepagesize`).
    static func freeHugeBytes() -> Int {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                return line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            }
            return 0
        }
        return field("HugePages_Free") * (field("Hugepagesize") << 10)
    }

    private static var shmemSetting: String {
        trimmed((try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/shmem_enabled", encoding: .utf8)) ?? "unreadable")
    }

    /// Why this machine cannot give `spec` what it asks for, if it cannot.
    static func unavailability(of spec: TierSpec) -> String? {
        if let node = spec.node, !FileManager.default.fileExists(atPath: "/sys/devices/system/node/node\(node)") {
            return "NUMA node \(node) does not exist on this machine"
        }
        switch spec.hugePages {
        case .none:
            return nil
        case .thp:
            let setting = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/shmem_enabled", encoding: .utf8)) ?? ""
            let enabled = ["[always]", "[within_size]", "[advise]", "[force]"].contains { setting.contains($0) }
            return enabled ? nil : "thp: shmem transparent huge pages are disabled (shmem_enabled: \(trimmed(setting)))"
        case .hugetlb:
            let reserved = (try? String(contentsOfFile: "/proc/sys/vm/nr_hugepages", encoding: .utf8)).flatMap { Int(trimmed($0)) } ?? 0
            return reserved > 0 ? nil : "hugetlb: no huge pages are reserved (vm.nr_hugepages is 0)"
        }
    }

    /// `text` without leading and trailing white space (the newline a /proc or /sys file ends with).
    private static func trimmed(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
