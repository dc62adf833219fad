import SystemCalls

/// Who may use the service: root, the daemon's own uid, and processes in the configured group
/// (as primary or supplementary group, as the kernel reports them for the connecting process).
/// The socket's mode (0660) and group already keep others from connecting; this check holds
/// even for an fd handed to someone else.
public struct AccessPolicy: Sendable {
    /// Why the policy could not be set up.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// The group allowed in, if one is configured.
    public let groupID: UInt32?
    private let daemonUID: UInt32

    /// A policy for `group` (nil: root and the daemon's uid only). An unknown group is an error.
    public init(group: String?) throws(Problem) {
        guard let group else {
            self.init(groupID: nil)
            return
        }
        guard let gid = Posix.groupID(named: group) else { throw Problem(description: "group '\(group)' does not exist") }
        self.init(groupID: gid)
    }

    /// A policy for the group `groupID`, in a daemon running as `daemonUID`.
    init(groupID: UInt32?, daemonUID: UInt32 = Posix.effectiveUserID) {
        self.groupID = groupID
        self.daemonUID = daemonUID
    }

    /// Whether a peer with these credentials may attach.
    func permits(uid: UInt32, gid: UInt32, groups: [UInt32]) -> Bool {
        if uid == 0 || uid == daemonUID { return true }
        guard let groupID else { return false }
        return gid == groupID || groups.contains(groupID)
    }

    /// Gives the socket file to the configured group (mode stays 0660).
    func secure(socketPath path: String) throws(Problem) {
        guard let groupID else { return }
        do { try Posix.chown(path, uid: daemonUID, gid: groupID) } catch {
            throw Problem(description: "\(error) (\(error.errno.name))")
        }
    }
}
