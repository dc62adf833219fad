/// Why a request migrates: the `reason` byte of a migrate request (its raw value), and the bit
/// of `migration/reason_mask` that lets it offload. Shared here so clients name reasons the way
/// the daemon does.
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
