import Logging
import SysfsFUSE
import SystemCalls

/// The knob mount across restarts: its `/dev/fuse` descriptor and handover memfd go into the
/// service manager's fd store, so the connection outlives the process and the next instance
/// serves the same mount (`KnobMount.init(adopting:)`); a shell writing knobs meanwhile waits
/// in the kernel instead of failing.
enum MountHandover {
    static let deviceName = "fuse-device"
    static let handoverName = "fuse-handover"
    static let names: Set<String> = [deviceName, handoverName]

    /// What a previous instance left in the store: its connection, if both descriptors came
    /// back, and whether it left anything at all (a half-stored connection still keeps its
    /// mount alive, unserved: the mount must then be detached without a look).
    static func take(from passed: inout PassedDescriptors) -> (connection: KnobMount.Connection?, leftOne: Bool) {
        let taken = passed.take { names.contains($0) }
        let device = taken.first { $0.name == deviceName }?.fd
        let handover = taken.first { $0.name == handoverName }?.fd
        if let device, let handover, taken.count == 2 { return (KnobMount.Connection(device: device, handover: handover), true) }
        for (_, fd) in taken { Posix.close(fd) }
        return (nil, !taken.isEmpty)
    }

    /// Puts a new mount's connection in the fd store; true when the mount is kept there (and
    /// so must be handed over, not unmounted, at a stop). Outside a service manager, or on a
    /// kernel that cannot resend what a killed daemon read (before 6.9), its descriptors are
    /// closed: the connection then ends with the unmount, as it always did.
    static func keep(_ mount: KnobMount, notifier: SystemdNotifier, logger: Logger) -> Bool {
        let connection = mount.connection
        if mount.adopted {
            logger.notice("took over the knob mount the previous instance left", metadata: ["mount": "\(mount.mountpoint)"])
            return true
        }
        // A mount made anew replaces any connection the store held (one that could not be
        // taken over): the next instance must find exactly one.
        for name in names { notifier.removeStored(name: name) }
        guard mount.handsOver, notifier.isActive, notifier.store([connection.device], name: deviceName), notifier.store([connection.handover], name: handoverName) else {
            Posix.close(connection.device)
            return false
        }
        return true
    }
}
