import FoundationEssentials
import Synchronization
import SystemCalls

/// The systemd notify protocol, spoken directly: datagrams to `$NOTIFY_SOCKET` (a path or an
/// `@abstract` name). Without the variable, every call is a no-op, so the daemon runs the same
/// under systemd and from a shell.
final class SystemdNotifier: Sendable {
    private let socketPath: String?
    private let watchdogInterval: Duration?
    private let heartbeatRunning = Atomic<Bool>(false)

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        // WATCHDOG_USEC applies to this process only if WATCHDOG_PID is unset or is us.
        let forUs = environment["WATCHDOG_PID"].map { $0 == String(ProcessInfo.processInfo.processIdentifier) } ?? true
        watchdogInterval = environment["WATCHDOG_USEC"].flatMap(Int.init).flatMap { forUs && $0 > 0 ? .microseconds($0 / 2) : nil }
    }

    /// `READY=1` with a status line.
    func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    /// A new `STATUS=` line.
    func status(_ text: String) { send("STATUS=\(text)") }

    /// Whether a service manager listens: without one, the fd store does not exist either.
    var isActive: Bool { socketPath != nil }

    /// Hands `fds` to the service manager's fd store under `name` (`FDSTORE=1`): they come
    /// back, under that name, to the next instance. Needs `FileDescriptorStoreMax=` in the unit.
    @discardableResult
    func store(_ fds: [Int32], name: String) -> Bool {
        guard let socketPath else { return false }
        return DaemonSystem.sendDatagram("FDSTORE=1\nFDNAME=\(name)", fds: fds, to: socketPath)
    }

    /// Takes every descriptor stored under `name` out of the fd store (`FDSTOREREMOVE=1`).
    func removeStored(name: String) {
        send("FDSTOREREMOVE=1\nFDNAME=\(name)")
    }

    /// `STOPPING=1`.
    func stopping() { send("STOPPING=1\nSTATUS=stopping") }

    /// While `alive()` says so, refreshes `STATUS=` (the counts move with every batch) and,
    /// when `WatchdogSec=` is set, sends `WATCHDOG=1`: every half watchdog interval, or every
    /// 5 s without one. Runs on its own OS thread; a no-op outside systemd.
    func startHeartbeat(status: @escaping @Sendable () -> String, alive: @escaping @Sendable () -> Bool) {
        guard socketPath != nil, !heartbeatRunning.exchange(true, ordering: .relaxed) else { return }
        let interval = watchdogInterval ?? .seconds(5)
        let watchdog = watchdogInterval != nil
        let started = OSThread.trySpawn(name: "foliod-heartbeat") { [self] in
            while alive() {
                send((watchdog ? "WATCHDOG=1\n" : "") + "STATUS=\(status())")
                OSThread.sleep(interval)
            }
        }
        if !started { heartbeatRunning.store(false, ordering: .relaxed) }
    }

    private func send(_ message: String) {
        guard let socketPath else { return }
        _ = DaemonSystem.sendDatagram(message, to: socketPath)
    }
}
