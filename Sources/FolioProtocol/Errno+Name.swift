import CLinux
import SystemPackage

extension Errno {
    /// The symbolic name (`EBUSY`), as `folioctl` prints a folio's status.
    public var symbolicName: String {
        clinux_errno_name(rawValue).map { String(cString: $0) } ?? "E\(rawValue)"
    }
}
