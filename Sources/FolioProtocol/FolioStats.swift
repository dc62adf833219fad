/// The `stats` reply: the active migrator's name and named counters. Counters are named, not
/// positional, so a daemon can add one without breaking a client: a client reads the names it
/// knows and skips the rest (PROTOCOL.md section 4).
public struct FolioStats: Equatable, Sendable {
    /// One counter: its name (a `migration/stats/` knob's, `<migrator>.<counter>` or
    /// `tier.<name>.<counter>`) and value.
    public struct Counter: Equatable, Sendable {
        public var name: String
        public var value: UInt64

        public init(name: String, value: UInt64) {
            self.name = name
            self.value = value
        }
    }

    /// The migrator that copies batches now.
    public var migrator: String
    /// Every counter, in the daemon's order.
    public var counters: [Counter]

    public init(migrator: String, counters: [Counter]) {
        self.migrator = migrator
        self.counters = counters
    }

    /// The counter called `name`, or nil if this daemon does not report it.
    public subscript(name: String) -> UInt64? {
        counters.first { $0.name == name }?.value
    }

    public var batches: UInt64 { self["batches"] ?? 0 }
    public var foliosMigrated: UInt64 { self["folios_migrated"] ?? 0 }
    public var foliosFailed: UInt64 { self["folios_failed"] ?? 0 }
    public var foliosBusy: UInt64 { self["folios_busy"] ?? 0 }
    public var bytesCopied: UInt64 { self["bytes_copied"] ?? 0 }

    /// `key: value` lines, the migrator first: what `folioctl stat` prints for scripts.
    public var text: String {
        (["migrator: \(migrator)"] + counters.map { "\($0.name): \($0.value)" }).joined(separator: "\n") + "\n"
    }
}
