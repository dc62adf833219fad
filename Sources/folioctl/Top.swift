import ArgumentParser
import CLinux
import Dispatch
import FolioClient
import FolioCommandLine
import FolioProtocol
import Glibc
import SystemCalls
import SystemPackage

/// `folioctl top`: the daemon at a glance, refreshed once a second like `top`: each tier's
/// used, hot and free bytes as bars, migrations per second by migrator and by reason, the batch
/// latency's p50 and p99, the tiering policy's moves per second. It reads the stats reply
/// (attaching nothing), the one the metrics endpoint serves. `q` quits.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live view of the daemon's counters, refreshed each --interval; q quits (attaches to no space)."
    )
    @ParentCommand var folioctl: Folioctl
    @Option(help: "Seconds between refreshes.") var interval = 1.0
    @Option(help: "Stop after this many screens (by default, when q is typed).") var count: Int?

    func validate() throws {
        // At most an hour: the refresh waits in milliseconds, counted in 32 bits.
        try ArgumentRanges.check(interval, "--interval", in: 0.1...3600)
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        let screen = isatty(STDOUT_FILENO) == 1
        let keyboard = Keyboard()
        if screen { writeStandardOutput("\u{1B}[?1049h\u{1B}[?25l") }  // the alternate screen, no cursor
        defer {
            keyboard.restore()
            if screen { writeStandardOutput("\u{1B}[?25h\u{1B}[?1049l") }
        }
        var before: (stats: FolioStats, at: UInt64)?
        var shown = 0
        while true {
            let at = DispatchTime.now().uptimeNanoseconds
            var lines: [String]
            let width = Self.columns()
            do {
                let stats = try FolioClient.stats(socketPath: folioctl.options.socket)
                let seconds = before.map { Double(at - $0.at) / 1e9 } ?? 0
                lines = TopScreen(socket: folioctl.options.socket, now: stats, before: before?.stats, seconds: seconds, interval: interval, width: width).lines
                before = (stats, at)
            } catch {
                // A daemon restarting comes back: keep trying, say why meanwhile.
                lines = ["folioctl top: \(folioctl.options.socket): \(error.message): \(error.errno) (\(error.errno.name)); q quits"]
                before = nil
            }
            if screen {
                // Home, each line over the old one, then clear what is left: no flicker.
                writeStandardOutput("\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\r\n") + "\u{1B}[J")
            } else {
                writeStandardOutput(lines.joined(separator: "\n") + "\n\n")
            }
            shown += 1
            if let count, shown >= count { return }
            let deadline = at + UInt64(interval * 1e9)
            while true {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < deadline else { break }
                if keyboard.waitForQuit(milliseconds: Int32((deadline - now) / 1_000_000) + 1) { return }
            }
        }
    }

    /// The terminal's width, or 100 when standard output is none.
    private static func columns() -> Int {
        var columns: Int32 = 0, rows: Int32 = 0
        guard clinux_terminal_size(STDOUT_FILENO, &columns, &rows) == 0, columns > 0 else { return 100 }
        return Int(columns)
    }
}

/// Standard input, read a key at a time when it is a terminal (no line buffering, no echo;
/// Ctrl-C still interrupts, and the terminal's settings come back on exit or on SIGINT/SIGTERM).
private final class Keyboard {
    private var closed = false

    init() {
        guard isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, &savedTerminal) == 0 else { return }
        var raw = savedTerminal
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { $0[Int(VMIN)] = 1; $0[Int(VTIME)] = 0 }
        guard tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0 else { return }
        terminalSaved = true
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            _ = Glibc.signal(signal) { number in
                if terminalSaved { tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminal) }
                // Back to the main screen with the cursor shown.
                let reset: [UInt8] = Array("\u{1B}[?25h\u{1B}[?1049l".utf8)
                _ = reset.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                _exit(128 + number)
            }
        }
    }

    /// Waits at most `milliseconds` for input; true when a `q` came. At the end of input
    /// (a closed pipe) it only waits.
    func waitForQuit(milliseconds: Int32) -> Bool {
        guard !closed else {
            OSThread.sleep(.milliseconds(Int(milliseconds)))
            return false
        }
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(STDIN_FILENO, $0.baseAddress, $0.count) }
        if count <= 0 {
            closed = true
            return false
        }
        return bytes.prefix(count).contains { $0 == UInt8(ascii: "q") || $0 == UInt8(ascii: "Q") }
    }

    func restore() {
        if terminalSaved { tcsetattr(STDIN_FILENO, TCSANOW, &savedTerminal) }
    }
}

// The terminal's settings before `Keyboard` changed them, for the signal handler (which can
// capture nothing). Written once, before the handlers are installed.
nonisolated(unsafe) private var savedTerminal = termios()
nonisolated(unsafe) private var terminalSaved = false
