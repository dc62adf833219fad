import SystemPackage

/// The whole knob tree, addressed by slash-separated paths relative to its root.
public final class SysfsTree: Sendable {
    /// The top directory (the mount point's contents).
    public let root = SysfsDirectory("")

    /// An empty tree.
    public init() {}

    /// The directory at `path` (`"dcbm"`, `"debug/fail_dma"`), created with its parents if needed.
    public func directory(_ path: String) -> SysfsDirectory {
        path.split(separator: "/").reduce(root) { $0.subdirectory(String($1)) }
    }

    /// Resolves `path` as a path walk would: ENOENT for a missing name, ENOTDIR when a name
    /// before the last is an attribute.
    public func lookup(_ path: some StringProtocol) throws(Errno) -> SysfsNode {
        var node = SysfsNode.directory(root)
        for component in path.split(separator: "/") {
            guard case .directory(let directory) = node else { throw .notDirectory }
            guard let child = directory.child(named: String(component)) else { throw .noSuchFileOrDirectory }
            node = child
        }
        return node
    }

    /// The attribute at `path`; EISDIR for a directory.
    public func attribute(_ path: some StringProtocol) throws(Errno) -> SysfsAttribute {
        switch try lookup(path) {
        case .attribute(let attribute): return attribute
        case .directory: throw .isDirectory
        }
    }

    /// Every knob's setting (`SysfsAttribute.setting`), in listing order: what a restart
    /// writes back to end where the operator left the tree.
    /// An attribute that appears under two names is kept once, under its first.
    public func settings() -> [KnobSetting] {
        var seen = Set<ObjectIdentifier>()
        return allAttributes().compactMap { path, attribute in
            guard seen.insert(ObjectIdentifier(attribute)).inserted else { return nil }
            return attribute.setting.map { KnobSetting(path: path, value: $0, line: 0) }
        }
    }

    /// Every attribute with its path, depth first in listing order.
    public func allAttributes() -> [(path: String, attribute: SysfsAttribute)] {
        func walk(_ directory: SysfsDirectory, _ prefix: String) -> [(path: String, attribute: SysfsAttribute)] {
            directory.children.flatMap { node -> [(path: String, attribute: SysfsAttribute)] in
                switch node {
                case .attribute(let attribute): [(prefix + attribute.name, attribute)]
                case .directory(let sub): walk(sub, prefix + sub.name + "/")
                }
            }
        }
        return walk(root, "")
    }
}
