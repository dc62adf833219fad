import SystemCalls
import SystemPackage

/// Standard error for `print(…, to:)`: the load tools' progress lines and `foliobench`'s errors.
nonisolated(unsafe) public var standardError = StandardError()

public struct StandardError: TextOutputStream {
    public init() {}

    public mutating func write(_ string: String) {
        _ = try? FileDescriptor.standardError.writeAll(string.utf8)
    }
}

/// Writes `text` to standard output at once, past `print`'s buffer: a script waiting for a
/// line sees it now.
func writeStandardOutput(_ text: String) {
    _ = try? FileDescriptor.standardOutput.writeAll(text.utf8)
}

/// Writes `value` and a newline to the knob at `path` in one write, as `echo` does.
func writeKnob(_ path: String, _ value: String) throws {
    let fd = try FileDescriptor.open(path, .writeOnly, options: .closeOnExec)
    defer { try? fd.close() }
    _ = try fd.writeAll((value + "\n").utf8)
}

/// What the knob at `path` shows, without its trailing newline.
func readKnob(_ path: String) throws -> String {
    let fd = try FileDescriptor.open(path, .readOnly, options: .closeOnExec)
    defer { try? fd.close() }
    var bytes = [UInt8](repeating: 0, count: 4096)
    let count = try bytes.withUnsafeMutableBytes { try fd.read(into: $0) }
    return String(decoding: bytes.prefix(count), as: UTF8.self).withoutTrailingNewline
}

/// Replaces the file at `path` with `text`: written beside it, then renamed over it, so a
/// reader never sees half a file.
func writeFileAtomically(_ path: String, _ text: String) throws {
    let temporary = path + ".tmp"
    let fd = try FileDescriptor.open(temporary, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
    do {
        _ = try fd.writeAll(text.utf8)
        try fd.close()
    } catch {
        try? fd.close()
        throw error
    }
    try Posix.rename(temporary, path)
}

/// `value` with `digits` digits after the point, rounded half away from zero (what
/// `printf("%.*f")` prints for the values a report shows).
func fixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return String(value) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
    let whole = Int(scaled / scale)
    let fraction = Int(scaled - Double(whole) * scale)
    var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
    if digits > 0 {
        let digitsText = String(fraction)
        text += "." + String(repeating: "0", count: digits - digitsText.count) + digitsText
    }
    return text
}
