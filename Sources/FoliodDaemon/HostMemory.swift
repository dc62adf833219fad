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

    /// Bytes of huge pages of the default size (`Hugepagesize`, what a hugetlb memfd takes)
    /// reserved on `node` and not in use (`nodeN/hugepages/hugepages-SIZEkB/free_hugepages`).
    static func freeHugeBytes(node: Int) -> Int {
        guard let kilobytes = defaultHugePageKilobytes() else { return 0 }
        let path = "/sys/devices/system/node/node\(node)/hugepages/hugepages-\(kilobytes)kB/free_hugepages"
        return ((try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int(trimmed($0)) } ?? 0) * (kilobytes << 10)
    }

    /// Huge pages of the default size reserved on `node` (`nr_hugepages` there).
    static func reservedHugePages(node: Int) -> Int {
        guard let kilobytes = defaultHugePageKilobytes() else { return 0 }
        let path = "/sys/devices/system/node/node\(node)/hugepages/hugepages-\(kilobytes)kB/nr_hugepages"
        return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int(trimmed($0)) } ?? 0
    }

    /// `Hugepagesize` from /proc/meminfo, in KiB.
    private static func defaultHugePageKilobytes() -> Int? {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("Hugepagesize:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        }
        return nil
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
            guard reserved > 0 else { return "hugetlb: no huge pages are reserved (vm.nr_hugepages is 0)" }
            // Bound to a node, the tier's huge pages come from that node's reservation alone.
            if let node = spec.node, reservedHugePages(node: node) == 0 {
                return "hugetlb: no huge pages are reserved on node \(node) (its hugepages/*/nr_hugepages is 0)"
            }
            return nil
        }
    }

    /// `text` without leading and trailing white space (the newline a /proc or /sys file ends with).
    private static func trimmed(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
