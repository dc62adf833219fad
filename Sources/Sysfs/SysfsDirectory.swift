import Synchronization

/// A directory of the tree: named children in the order they were added, as `ls` lists them.
public final class SysfsDirectory: Sendable {
    /// The directory's name within its parent (empty for the root).
    public let name: String
    private let entries = Mutex<[SysfsNode]>([])

    /// An empty directory.
    public init(_ name: String) {
        self.name = name
    }

    /// The children, in order.
    public var children: [SysfsNode] { entries.withLock { $0 } }

    /// The child called `name`, if any.
    public func child(named name: String) -> SysfsNode? {
        entries.withLock { $0.first { $0.name == name } }
    }

    /// The subdirectory `name`, created if it does not exist yet.
    @discardableResult
    public func subdirectory(_ name: String) -> SysfsDirectory {
        entries.withLock { entries in
            for case .directory(let existing) in entries where existing.name == name { return existing }
            precondition(!entries.contains { $0.name == name }, "'\(name)' is already an attribute")
            let directory = SysfsDirectory(name)
            entries.append(.directory(directory))
            return directory
        }
    }

    /// Adds `attributes`; a name that is taken is a programming error, as in `sysfs_create_file()`.
    public func add(_ attributes: SysfsAttribute...) {
        entries.withLock { entries in
            for attribute in attributes {
                precondition(!entries.contains { $0.name == attribute.name }, "duplicate knob '\(attribute.name)'")
                entries.append(.attribute(attribute))
            }
        }
    }
}

/// A node of the tree.
public enum SysfsNode: Sendable {
    case directory(SysfsDirectory)
    case attribute(SysfsAttribute)

    /// The node's name within its directory.
    public var name: String {
        switch self {
        case .directory(let directory): directory.name
        case .attribute(let attribute): attribute.name
        }
    }
}
