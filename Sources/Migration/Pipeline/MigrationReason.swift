/// Why a request migrates; `migration/reason_mask` picks which reasons may offload.
public enum MigrationReason: Int, CaseIterable, Sendable {
    case syscall
    case demotion
    case promotion
    case compaction

    /// The name the knob and `folioctl --reason` use.
    public var name: String { String(describing: self) }

    /// Every reason's name, in bit order.
    public static let names = allCases.map(\.name)

    /// The reason called `name`.
    public init?(name: String) {
        guard let index = Self.names.firstIndex(of: name) else { return nil }
        self.init(rawValue: index)
    }
}
