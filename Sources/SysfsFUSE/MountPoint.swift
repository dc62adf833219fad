import SystemCalls
import SystemPackage

/// Checks and prepares the directory the tree is mounted on.
enum MountPoint {
    /// Why a mount point cannot be used.
    enum Problem: Error, CustomStringConvertible {
        case missing(String)
        case notDirectory(String)
        case notEmpty(String)
        case mounted(String)
        case unusable(String, SystemCallError)

        var description: String {
            switch self {
            case .missing(let path): "mount point \(path) does not exist"
            case .notDirectory(let path): "mount point \(path) is not a directory"
            case .notEmpty(let path): "mount point \(path) is not empty"
            case .mounted(let path): "mount point \(path) is in use: a file system is already mounted there (another foliod's knob tree?)"
            case .unusable(let path, let error): "mount point \(path): \(error)"
            }
        }
    }

    /// Makes `path` ready: a stale FUSE mount left by a killed daemon (`ENOTCONN`) is detached;
    /// then it must be an existing, empty directory that is not a mount point. Returns whether
    /// a stale mount was detached.
    @discardableResult
    static func prepare(_ path: String) throws(Problem) -> Bool {
        try check(path, detachingStale: true)
    }

    /// What `prepare` would find, changing nothing: a stale mount counts as usable (it would be
    /// detached). Returns whether one is there.
    static func check(_ path: String) throws(Problem) -> Bool {
        try check(path, detachingStale: false)
    }

    private static func check(_ path: String, detachingStale: Bool) throws(Problem) -> Bool {
        let found: Problem?
        do throws(SystemCallError) {
            found = try inspect(path)
        } catch where error.errno == .socketNotConnected {
            guard detachingStale else { return true }
            // The daemon behind this mount is gone: detach it and look again.
            let after: Problem?
            do throws(SystemCallError) {
                try MountSystem.detach(path)
                after = try inspect(path)
            } catch {
                throw .unusable(path, error)
            }
            if let after { throw after }
            return true
        } catch where error.errno == .noSuchFileOrDirectory {
            throw .missing(path)
        } catch {
            throw .unusable(path, error)
        }
        if let found { throw found }
        return false
    }

    /// What is wrong with `path`, if anything. A stale mount can still pass `stat` from the
    /// kernel's attribute cache, so the directory is read too.
    private static func inspect(_ path: String) throws(SystemCallError) -> Problem? {
        let status = try MountSystem.status(path)
        guard MountSystem.isDirectory(status.mode) else { return .notDirectory(path) }
        guard try MountSystem.entries(path).isEmpty else {
            // A live mount (another daemon's tree) lists its files; its device is not its parent's.
            let parent = try? MountSystem.status(path + "/..")
            return parent.map { $0.device != status.device } == true ? .mounted(path) : .notEmpty(path)
        }
        return nil
    }
}
