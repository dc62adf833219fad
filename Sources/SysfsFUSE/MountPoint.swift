import SystemPackage

/// Checks and prepares the directory the tree is mounted on.
enum MountPoint {
    /// Why a mount point cannot be used.
    enum Problem: Error, CustomStringConvertible {
        case missing(String)
        case notDirectory(String)
        case notEmpty(String)
        case unusable(String, SystemCallError)

        var description: String {
            switch self {
            case .missing(let path): "mount point \(path) does not exist"
            case .notDirectory(let path): "mount point \(path) is not a directory"
            case .notEmpty(let path): "mount point \(path) is not empty"
            case .unusable(let path, let error): "mount point \(path): \(error)"
            }
        }
    }

    /// Makes `path` ready: a stale FUSE mount left by a killed daemon (`ENOTCONN`) is detached;
    /// then it must be an existing, empty directory.
    static func prepare(_ path: String) throws(Problem) {
        let found: Problem?
        do throws(SystemCallError) {
            found = try inspect(path)
        } catch where error.errno == .socketNotConnected {
            // The daemon behind this mount is gone: detach it and look again.
            do throws(SystemCallError) {
                try MountSystem.detach(path)
                found = try inspect(path)
            } catch {
                throw .unusable(path, error)
            }
        } catch where error.errno == .noSuchFileOrDirectory {
            throw .missing(path)
        } catch {
            throw .unusable(path, error)
        }
        if let found { throw found }
    }

    /// What is wrong with `path`, if anything. A stale mount can still pass `stat` from the
    /// kernel's attribute cache, so the directory is read too.
    private static func inspect(_ path: String) throws(SystemCallError) -> Problem? {
        guard MountSystem.isDirectory(try MountSystem.status(path).mode) else { return .notDirectory(path) }
        guard try MountSystem.entries(path).isEmpty else { return .notEmpty(path) }
        return nil
    }
}
