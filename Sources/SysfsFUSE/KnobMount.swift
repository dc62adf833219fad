import CFuse
import Dispatch
import Glibc
import Synchronization
import Sysfs
import SystemCalls
import SystemPackage

/// A `SysfsTree` mounted with FUSE (libfuse3's low-level session, `KnobSession`), served by a
/// multi-threaded loop on its own OS thread.
///
/// A mount can outlive the daemon: `connection` (its `/dev/fuse` descriptor and the handover
/// memfd) is what the service manager's fd store keeps, and the next instance passes it back
/// to `init(tree:at:adopting:)`, which serves the same mount without a gap: requests made in
/// between wait in the kernel. Signals are not handled here: the owner (the daemon) decides
/// whether to `unmount()` or `handOver()`.
///
/// `@unchecked Sendable`: every stored property is a constant (`handsOver` is set once, in
/// `init`), and the one that changes, `state`, is a Mutex; the session inside is used by its loop thread and by `stop`, which
/// libfuse allows from any thread.
public final class KnobMount: @unchecked Sendable {
    /// Why the tree could not be mounted.
    public struct MountError: Error, CustomStringConvertible {
        public var description: String
    }

    /// A connection a predecessor left: its `/dev/fuse` descriptor and its handover memfd.
    public struct Connection: Sendable {
        public var device: Int32
        public var handover: Int32

        public init(device: Int32, handover: Int32) {
            self.device = device
            self.handover = handover
        }
    }

    private enum State { case mounted, stopped }

    /// The directory the tree is mounted on.
    public let mountpoint: String
    /// Whether a stale mount a killed daemon left there was detached first.
    public let recoveredStaleMount: Bool
    /// Whether this mount was taken over from a predecessor rather than made.
    public let adopted: Bool
    /// Whether a successor can take this mount over: the kernel resends what a killed daemon
    /// read and never answered (Linux 6.9). Without it the mount must go with this process.
    public private(set) var handsOver = false
    /// Descriptors to keep for a successor (dups: the session closes its own).
    public let connection: Connection
    private let session: KnobSession
    private let loopExited = DispatchSemaphore(value: 0)
    // Held across a stop, so a second caller waits for the first to finish.
    private let state = Mutex(State.mounted)

    /// Mounts `tree` at `mountpoint`, or serves the mount a predecessor left there when
    /// `adopting` is its connection and that mount is still in place (else the connection is
    /// closed and the tree mounted anew). A stale mount a killed daemon left is detached, and
    /// so, without a look, is one of ours when `predecessorLeftOne` says a predecessor left a
    /// connection that cannot be taken over (a live one nobody serves would not answer).
    /// `onWrite` hears of every write through the mount (the daemon logs them).
    public init(tree: SysfsTree, at mountpoint: String, adopting: Connection? = nil, predecessorLeftOne: Bool = false,
                onWrite: (@Sendable (KnobWrite) -> Void)? = nil) throws(MountError) {
        self.mountpoint = mountpoint
        let fileSystem = KnobFileSystem(tree: tree, onWrite: onWrite)
        let handover = adopting.flatMap { Self.handover(from: $0, at: mountpoint) }
        if let adopting, handover == nil {
            Posix.close(adopting.device)
            Posix.close(adopting.handover)
        }
        do {
            if let adopting, let handover {
                recoveredStaleMount = false
                adopted = true
                connection = adopting
                session = try KnobSession(fileSystem: fileSystem, device: FileDescriptor(rawValue: try Self.duplicate(adopting.device)),
                                          handoverFile: FileDescriptor(rawValue: adopting.handover), adopting: handover)
            } else {
                // A predecessor's mount that cannot be taken over (its handover is unreadable)
                // is detached unlooked-at: its connection, still held by the service manager,
                // would not answer a stat. Any other mount there is looked at as usual, and a
                // live one (another daemon's) refused.
                let leftOver = (adopting != nil || predecessorLeftOne) && MountSystem.mountType(at: mountpoint) == "fuse.foliod"
                    && (try? MountSystem.detach(mountpoint)) != nil
                do { recoveredStaleMount = try MountPoint.prepare(mountpoint) || leftOver } catch { throw MountError(description: error.description) }
                adopted = false
                let (device, handoverFile) = try Self.mountAnew(at: mountpoint)
                connection = Connection(device: try Self.duplicate(device.rawValue), handover: handoverFile.rawValue)
                session = try KnobSession(fileSystem: fileSystem, device: device, handoverFile: handoverFile, adopting: nil)
            }
        } catch let error as SystemCallError {
            throw MountError(description: "\(mountpoint): \(error)")
        } catch let error as MountError {
            throw error
        } catch {
            throw MountError(description: "\(mountpoint): \(error)")
        }
        // The loop thread holds this mount (and through it the session its callbacks reach by
        // user data) until the loop returns.
        let started = OSThread.trySpawn(name: "fuse-loop") { [self] in
            session.serve()
            loopExited.signal()
        }
        guard started else {
            // Stopped already, so `deinit` leaves an adopted mount to the next try.
            state.withLock { $0 = .stopped }
            if !adopted { try? MountSystem.detach(mountpoint) }
            throw MountError(description: "cannot start the FUSE loop thread for \(mountpoint)")
        }
        handsOver = adopted || session.handsOver(waitingAtMost: .seconds(5))
    }

    /// Opens `/dev/fuse` and mounts it at `mountpoint`; a memfd for the handover beside it.
    private static func mountAnew(at mountpoint: String) throws -> (FileDescriptor, FileDescriptor) {
        let device: FileDescriptor
        do { device = try FileDescriptor.open("/dev/fuse", .readWrite, options: .closeOnExec) } catch {
            throw MountError(description: "/dev/fuse: \(error) (load the fuse module: modprobe fuse)")
        }
        do {
            _ = try Posix.call("mount \(mountpoint)") { cfuse_mount(mountpoint, device.rawValue) }
            return (device, try MountSystem.handoverFile())
        } catch {
            try? device.close()
            throw error
        }
    }

    /// The predecessor's handover, if its mount is still at `mountpoint` (a FUSE mount of
    /// ours) and the memfd holds one. Nothing here touches the mount: no one serves it yet.
    private static func handover(from connection: Connection, at mountpoint: String) -> KnobSession.Handover? {
        guard MountSystem.mountType(at: mountpoint) == "fuse.foliod" else { return nil }
        return Posix.contents(of: FileDescriptor(rawValue: connection.handover), below: 1 << 20).flatMap(KnobSession.Handover.init(decoding:))
    }

    private static func duplicate(_ fd: Int32) throws(SystemCallError) -> Int32 {
        try Posix.call("fcntl(F_DUPFD_CLOEXEC)") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    /// Unmounts (lazily, so files held open do not stop it) and waits up to `timeout` for the
    /// loop to end. Returns whether it did; if not, the connection ends with the process.
    @discardableResult
    public func unmount(timeout: Duration = .milliseconds(500)) -> Bool {
        stop(timeout: timeout, detaching: true)
    }

    /// Stops serving but leaves the mount, for a successor that adopts `connection`: the
    /// requests in hand are answered, the rest wait in the kernel. Returns whether the loop
    /// ended within `timeout`.
    @discardableResult
    public func handOver(timeout: Duration = .seconds(2)) -> Bool {
        stop(timeout: timeout, detaching: false)
    }

    private func stop(timeout: Duration, detaching: Bool) -> Bool {
        state.withLock { state in
            guard state == .mounted else { return true }
            state = .stopped
            if detaching { try? MountSystem.detach(mountpoint) }
            session.stop()
            let (seconds, attoseconds) = timeout.components
            return loopExited.wait(timeout: .now() + Double(seconds) + Double(attoseconds) / 1e18) == .success
        }
    }

    deinit {
        unmount()
    }

    /// Checks that `mountpoint` could be mounted on, changing nothing (`foliod --check-config`).
    public static func check(_ mountpoint: String) throws(MountError) {
        do { _ = try MountPoint.check(mountpoint) } catch { throw MountError(description: error.description) }
    }
}
