import ArgumentParser
import Foundation

/// `folioctl watch`: blocks in poll(2) on a knob and prints it, with other knobs, at start and
/// after each change. It is the watcher sysfs allows: read, poll for POLLPRI, read again.
struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print knobs each time the first one changes (blocking in poll, not sleeping)."
    )
    @Option(help: "The daemon's knob tree.") var mount = "mnt"
    @Option(help: "Stop after this many changes.") var count: Int?
    @Argument(help: "Knob paths; the first is watched.") var knobs: [String] = ["migration/offload_migrator"]

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must not be negative") }
        guard !knobs.isEmpty else { throw ValidationError("name at least one knob") }
    }

    func run() throws {
        let descriptors = try knobs.map { knob in
            let fd = open(mount + "/" + knob, O_RDONLY)
            guard fd >= 0 else { throw ValidationError("\(mount)/\(knob): \(String(cString: strerror(errno)))") }
            return fd
        }
        defer { descriptors.forEach { close($0) } }
        var changes = 0
        while true {
            // Straight to the fd, unbuffered: a pipe reader sees each change as it happens.
            FileHandle.standardOutput.write(Data((line(descriptors) + "\n").utf8))
            if let count, changes >= count { return }
            var watched = pollfd(fd: descriptors[0], events: Int16(POLLPRI), revents: 0)
            guard poll(&watched, 1, -1) == 1 else { continue }
            changes += 1
        }
    }

    /// Every knob read at offset 0 (which re-runs its show and re-arms poll).
    private func line(_ descriptors: [Int32]) -> String {
        let values = descriptors.map { fd -> String in
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = pread(fd, &buffer, buffer.count, 0)
            return String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self).trimmingCharacters(in: .newlines)
        }
        return ([values[0]] + zip(knobs, values).dropFirst().map { "\($0)=\($1)" }).joined(separator: " ")
    }
}
