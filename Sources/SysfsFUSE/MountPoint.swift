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
        do throws(SystemCallError) {
            _ = try MountSystem.status(path)
        } catch where error.errno == .socketNotConnected {
            do { try MountSystem.detach(path) } catch { throw .unusable(path, error) }
        } catch where error.errno == .noSuchFileOrDirectory {
            throw .missing(path)
        } catch {
            throw .unusable(path, error)
        }
        let isDirectory: Bool
        let names: [String]
        do throws(SystemCallError) {
            isDirectory = MountSystem.isDirectory(try MountSystem.status(path).mode)
            names = isDirectory ? try MountSystem.entries(path) : []
        } catch {
            throw .unusable(path, error)
        }
        guard isDirectory else { throw .notDirectory(path) }
        guard names.isEmpty else { throw .notEmpty(path) }
    }
}
