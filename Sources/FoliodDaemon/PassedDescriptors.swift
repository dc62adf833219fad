import FoundationEssentials
import SystemCalls

/// The descriptors the service manager passed at start: listening sockets (socket activation)
/// and what the previous instance put in the fd store, each with its name. Read as
/// `sd_listen_fds_with_names` does: only when `LISTEN_PID` is this process, starting at fd 3;
/// the variables are then removed, so no child mistakes them for its own.
struct PassedDescriptors {
    /// The first descriptor passed (`SD_LISTEN_FDS_START`).
    static let first: Int32 = 3

    private(set) var named: [(name: String, fd: Int32)]

    /// Parses the variables; nothing when they are absent or meant for another process.
    init(environment: [String: String], pid: Int32) {
        guard environment["LISTEN_PID"].flatMap(Int32.init) == pid,
              let count = environment["LISTEN_FDS"].flatMap(Int32.init), count > 0, count < 65536 else {
            named = []
            return
        }
        let names = environment["LISTEN_FDNAMES"].map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        named = (0..<count).map { index in
            (Int(index) < names.count ? names[Int(index)] : "unknown", Self.first + index)
        }
    }

    /// These descriptors under these names (tests hand in descriptors of their own).
    init(named: [(name: String, fd: Int32)]) {
        self.named = named
    }

    /// What this process was given, taken out of the environment.
    static func take() -> PassedDescriptors {
        var passed = PassedDescriptors(environment: ProcessInfo.processInfo.environment, pid: DaemonSystem.processID)
        for variable in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { DaemonSystem.unsetEnvironment(variable) }
        // One the variables name but that is not open is not used at all.
        passed.named.removeAll { !Posix.setCloseOnExec($0.fd) }
        return passed
    }

    /// Removes and returns the descriptors whose names satisfy `matching`.
    mutating func take(where matching: (String) -> Bool) -> [(name: String, fd: Int32)] {
        let taken = named.filter { matching($0.name) }
        named.removeAll { matching($0.name) }
        return taken
    }
}
