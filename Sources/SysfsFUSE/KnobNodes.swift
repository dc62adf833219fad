import Synchronization
import Sysfs
import SystemPackage

/// The tree's node ids, as the kernel sees them: each a function of the node's path alone
/// (FNV-1a over its bytes; the root is 1, `FUSE_ROOT_ID`). A restarted daemon that takes over
/// the connection from the one before it (see `KnobSession`) answers the ids the kernel
/// cached from its predecessor's lookups without having looked them up itself.
///
/// Locking: `paths` guards the id-to-path map, filled from the tree at start and by lookups
/// of nodes added later.
final class KnobNodes: Sendable {
    static let rootID: UInt64 = 1

    private let tree: SysfsTree
    private let paths: Mutex<[UInt64: String]>

    init(tree: SysfsTree) {
        self.tree = tree
        var known: [UInt64: String] = [Self.rootID: ""]
        func walk(_ directory: SysfsDirectory, _ prefix: String) {
            for child in directory.children {
                let path = prefix + child.name
                known[Self.id(of: path)] = path
                if case .directory(let sub) = child { walk(sub, path + "/") }
            }
        }
        walk(tree.root, "")
        paths = Mutex(known)
    }

    /// The id of the node at `path` ("" for the root).
    static func id(of path: String) -> UInt64 {
        guard !path.isEmpty else { return rootID }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        // 0 is no node and 1 the root.
        return hash > rootID ? hash : hash &+ 2
    }

    /// The path of node `id`; ENOENT for an id this tree never had.
    func path(of id: UInt64) throws(Errno) -> String {
        guard let path = paths.withLock({ $0[id] }) else { throw .noSuchFileOrDirectory }
        return path
    }

    /// The child `name` of directory `parent`: its path and node; ENOENT, or ENOTDIR when
    /// `parent` is a knob.
    func child(_ name: String, of parent: UInt64) throws(Errno) -> (id: UInt64, path: String, node: SysfsNode) {
        let parentPath = try path(of: parent)
        let path = parentPath.isEmpty ? name : parentPath + "/" + name
        let node = try tree.lookup(path)
        let id = Self.id(of: path)
        paths.withLock { $0[id] = path }
        return (id, path, node)
    }
}
