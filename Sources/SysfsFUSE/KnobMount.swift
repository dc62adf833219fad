import CFuse
import Dispatch
import Synchronization
import Sysfs
import SystemCalls

/// A `SysfsTree` mounted with libfuse3, served by a multi-threaded loop on its own OS thread.
///
/// Signals are not handled here: the owner (the daemon) decides when to call `unmount()`.
public final class KnobMount: @unchecked Sendable {
    /// Why the tree could not be mounted.
    public struct MountError: Error, CustomStringConvertible {
        public var description: String
    }

    private enum State { case mounted, unmounted }

    /// The directory the tree is mounted on.
    public let mountpoint: String
    /// Whether a stale mount a killed daemon left there was detached first.
    public let recoveredStaleMount: Bool
    private let fileSystem: KnobFileSystem
    private let fuse: OpaquePointer
    private let loopExited = DispatchSemaphore(value: 0)
    // Held across an unmount, so a second caller waits for the first to finish.
    private let state = Mutex(State.mounted)

    /// The FUSE options: the kernel checks mode and owner for every user, and every user may
    /// look (sysfs is world-readable).
    static let options = "default_permissions,allow_other,fsname=foliod,subtype=foliod"

    /// Mounts `tree` at `mountpoint`, first detaching a stale mount a killed daemon left there.
    /// `onWrite` hears of every write through the mount (the daemon logs them).
    public init(tree: SysfsTree, at mountpoint: String, onWrite: (@Sendable (KnobWrite) -> Void)? = nil) throws(MountError) {
        do { recoveredStaleMount = try MountPoint.prepare(mountpoint) } catch { throw MountError(description: error.description) }
        guard (try? MountSystem.status("/dev/fuse")) != nil else {
            throw MountError(description: "/dev/fuse is missing: load the fuse module (modprobe fuse)")
        }
        self.mountpoint = mountpoint
        fileSystem = KnobFileSystem(tree: tree, onWrite: onWrite)
        var operations = KnobOperations.table()
        var arguments = fuse_args(argc: 0, argv: nil, allocated: 0)
        defer { fuse_opt_free_args(&arguments) }
        for argument in ["foliod", "-o", Self.options] { fuse_opt_add_arg(&arguments, argument) }
        let context = Unmanaged.passUnretained(fileSystem).toOpaque()
        guard let fuse = cfuse_new(&arguments, &operations, context) else {
            throw MountError(description: "fuse_new failed for \(mountpoint)")
        }
        guard fuse_mount(fuse, mountpoint) == 0 else {
            fuse_destroy(fuse)
            throw MountError(description: "fuse_mount failed for \(mountpoint)")
        }
        self.fuse = fuse
        // The loop thread holds this mount (and through it the file system its callbacks reach
        // by private data) until the loop returns: an unmount that times out never frees what
        // a FUSE thread still uses; the process exit ends both.
        let started = OSThread.trySpawn(name: "fuse-loop") { [self] in
            _ = cfuse_loop_mt(self.fuse, 4)
            loopExited.signal()
        }
        guard started else {
            fuse_unmount(fuse)
            fuse_destroy(fuse)
            throw MountError(description: "cannot start the FUSE loop thread for \(mountpoint)")
        }
    }

    /// Unmounts (lazily, so files held open do not stop it) and waits up to `timeout` for the
    /// loop to end. Returns whether it did; if not, the connection ends with the process.
    @discardableResult
    public func unmount(timeout: Duration = .milliseconds(500)) -> Bool {
        state.withLock { state in
            guard state == .mounted else { return true }
            state = .unmounted
            return stop(timeout: timeout)
        }
    }

    private func stop(timeout: Duration) -> Bool {
        fuse_exit(fuse)
        fuse_unmount(fuse)
        let (seconds, attoseconds) = timeout.components
        let finished = loopExited.wait(timeout: .now() + Double(seconds) + Double(attoseconds) / 1e18) == .success
        // Destroying a session whose loop still runs would free what its threads use.
        if finished { fuse_destroy(fuse) }
        return finished
    }

    deinit {
        unmount()
    }

    /// Checks that `mountpoint` could be mounted on, changing nothing (`foliod --check-config`).
    public static func check(_ mountpoint: String) throws(MountError) {
        do { _ = try MountPoint.check(mountpoint) } catch { throw MountError(description: error.description) }
    }
}
