/// A size written as bytes or with a binary suffix: `4096`, `4K`, `2M`, `1G` (`foliobench`
/// parses its options with `init(argument:)`).
public struct ByteSize: Comparable, CustomStringConvertible, Sendable {
    public let bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    public init?(argument: String) {
        let shifts: [Character: Int] = ["K": 10, "M": 20, "G": 30]
        if let unit = argument.last.map({ Character($0.uppercased()) }), let shift = shifts[unit] {
            // `<<` drops the bits shifted out: a number past Int.max once scaled is refused.
            guard let number = Int(argument.dropLast()), number > 0, number <= Int.max >> shift else { return nil }
            bytes = number << shift
        } else {
            guard let number = Int(argument), number > 0 else { return nil }
            bytes = number
        }
    }

    /// `4K`, `2M`: the largest unit that divides it.
    public var description: String {
        for (unit, shift) in [("G", 30), ("M", 20), ("K", 10)] where bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)"
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }
}

/// One migrator setting of a bench run: `kernel`, `mtcopy:2`, `dcbm:4`.
public struct MigratorSetting: CustomStringConvertible, Hashable, Sendable {
    public let name: String
    public let width: Int?
    /// `migration/transactional` for this setting (`/tx0`, `/tx1`), or nil to leave it.
    public let transactional: Bool?

    /// `kernel`, `mtcopy:N` or `dcbm:N`, optionally followed by `/tx0` or `/tx1`.
    public init?(argument: String) {
        let halves = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count <= 2 else { return nil }
        switch halves.count == 2 ? String(halves[1]) : nil {
        case nil: transactional = nil
        case "tx0": transactional = false
        case "tx1": transactional = true
        default: return nil
        }
        let parts = halves[0].split(separator: ":", omittingEmptySubsequences: false)
        guard ["kernel", "mtcopy", "dcbm"].contains(String(parts[0])), parts.count <= 2 else { return nil }
        name = String(parts[0])
        if parts.count == 2 {
            guard name != "kernel", let width = Int(parts[1]), width >= 1 else { return nil }
            self.width = width
        } else {
            width = nil
        }
    }

    public var description: String {
        (width.map { "\(name):\($0)" } ?? name) + (transactional.map { $0 ? "/tx1" : "/tx0" } ?? "")
    }

    /// The knob lines an operator would write to select it.
    public var knobWrites: [(path: String, value: String)] {
        var writes: [(String, String)] = []
        if let width { writes.append((name == "mtcopy" ? "mtcopy/threads" : "dcbm/nr_dma_chan", String(width))) }
        if let transactional { writes.append(("migration/transactional", transactional ? "1" : "0")) }
        writes.append(("migration/offload_migrator", name))
        return writes
    }
}
