import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import SystemCalls
import SystemPackage

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
            do { return try FileDescriptor.open(mount + "/" + knob, .readOnly, options: .closeOnExec).rawValue } catch let error as Errno {
                throw ValidationError("\(mount)/\(knob): \(error) (\(error.name))")
            }
        }
        defer { descriptors.forEach { try? FileDescriptor(rawValue: $0).close() } }
        var changes = 0
        while true {
            // Straight to the fd, unbuffered: a pipe reader sees each change as it happens.
            writeStandardOutput(line(descriptors) + "\n")
            if let count, changes >= count { return }
            guard try Posix.wait([descriptors[0]], for: Int16(POLLPRI), timeoutMilliseconds: -1)[0] else { continue }
            changes += 1
        }
    }

    /// Every knob read at offset 0 (which re-runs its show and re-arms poll).
    private func line(_ descriptors: [Int32]) -> String {
        let values = descriptors.map { fd -> String in
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = (try? buffer.withUnsafeMutableBytes { try FileDescriptor(rawValue: fd).read(fromAbsoluteOffset: 0, into: $0) }) ?? 0
            // A knob's value ends with one newline (its show format); nothing else is trimmed.
            return String(decoding: buffer.prefix(count), as: UTF8.self).withoutTrailingNewline
        }
        return ([values[0]] + zip(knobs, values).dropFirst().map { "\($0)=\($1)" }).joined(separator: " ")
    }
}
