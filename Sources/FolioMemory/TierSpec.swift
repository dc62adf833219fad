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
    /// How `node` was chosen when the config did not name it (`node = "auto"`, or no
    /// `[[tiers]]` at all): what the machine's memory tiers and node distances said, as
    /// `tiers/<name>/node_choice` shows it; nil when the config named the node (or none).
    public var nodeChoice: String?

    public init(name: String, sizeBytes: Int, node: Int? = nil, hugePages: HugePageMode = .none) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.node = node
        self.hugePages = hugePages
    }

    /// What `tiers/<name>/huge_pages` shows: the mode, and `(auto)` when the machine chose it.
    public var hugePagesDescription: String {
        hugePages.rawValue + (chosenAutomatically ? " (auto)" : "")
    }
}
