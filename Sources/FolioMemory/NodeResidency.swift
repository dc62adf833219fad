import SystemPackage

/// Where a tier's pages are, as the kernel reports them: `/proc/self/numa_maps` has a line per
/// mapping of the daemon, and each tier's memfd in each space is one (`file=/memfd:foliod-ID-NAME`),
/// with the pages it holds per node (`N1=512`, in units of `kernelpagesize_kB`). The kernel
/// walks the daemon's page tables for it, so a read costs a page-table walk of the mapped
/// tiers and faults nothing in. `tiers/<name>/node_bytes` shows it.
public enum NodeResidency {
    /// Bytes per node of the memfds of tier `name` in `numaMaps` (the text of a numa_maps file).
    public static func bytesPerNode(ofTier name: String, numaMaps: String) -> [Int: Int] {
        var bytes: [Int: Int] = [:]
        for line in numaMaps.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let file = fields.first(where: { $0.hasPrefix("file=/memfd:foliod-") }), tier(ofFile: file).map(String.init) == name else { continue }
            var pageBytes = 4096
            for field in fields where field.hasPrefix("kernelpagesize_kB=") {
                pageBytes = (Int(field.dropFirst("kernelpagesize_kB=".count)) ?? 4) << 10
            }
            for field in fields where field.first == "N" {
                let pair = field.dropFirst().split(separator: "=")
                guard pair.count == 2, let node = Int(pair[0]), let pages = Int(pair[1]) else { continue }
                bytes[node, default: 0] += pages * pageBytes
            }
        }
        return bytes
    }

    /// The tier a `file=/memfd:foliod-ID-NAME (deleted)` field names (numa_maps writes the
    /// space as `\040`); nil for any other file.
    static func tier(ofFile field: Substring) -> Substring? {
        var name = field.dropFirst("file=/memfd:foliod-".count)
        guard let dash = name.firstIndex(of: "-"), name[..<dash].allSatisfy(\.isNumber), dash != name.startIndex else { return nil }
        name = name[name.index(after: dash)...]
        if let end = name.firstIndex(where: { $0 == "\\" || $0 == " " }) { name = name[..<end] }
        return name
    }

    /// What `tiers/<name>/node_bytes` shows: `N0=0 N1=4194304 N2=0`, every online node (and any
    /// other that holds pages) in order, on one line.
    public static func line(ofTier name: String, numaMaps: String, nodes: [Int]) -> String {
        let bytes = bytesPerNode(ofTier: name, numaMaps: numaMaps)
        let shown = Set(nodes).union(bytes.keys).sorted()
        return shown.map { "N\($0)=\(bytes[$0] ?? 0)" }.joined(separator: " ") + "\n"
    }

    /// The line for tier `name` of this process, read now.
    public static func line(ofTier name: String) -> String {
        let nodes = readText("/sys/devices/system/node/online").flatMap(nodeList) ?? [0]
        return line(ofTier: name, numaMaps: readText("/proc/self/numa_maps") ?? "", nodes: nodes)
    }

    /// A kernel node list (`0-2,4`, as `nodelist`, `online` and `has_cpu` write it); nil if it
    /// does not parse. Empty text is no nodes.
    public static func nodeList(_ text: String) -> [Int]? {
        var nodes: [Int] = []
        for range in text.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
            let ends = range.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count <= 2, let first = Int(ends[0]), let last = Int(ends.last!), first >= 0, first <= last, last < 1 << 16 else { return nil }
            nodes += first...last
        }
        return nodes
    }

    /// A whole /proc or /sys file (their sizes read as 0 or 4096, so it is read to its end),
    /// at most 64 MiB; nil if it cannot be opened.
    public static func readText(_ path: String) -> String? {
        guard let fd = try? FileDescriptor.open(path, .readOnly, options: .closeOnExec) else { return nil }
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count < 64 << 20 {
            guard let count = try? chunk.withUnsafeMutableBytes({ try fd.read(into: $0, retryOnInterrupt: true) }) else { return nil }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
