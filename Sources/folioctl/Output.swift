import SystemPackage

/// Standard error for `print(…, to:)`.
nonisolated(unsafe) var standardError = StandardError()

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        _ = try? FileDescriptor.standardError.writeAll(string.utf8)
    }
}

/// Writes `text` to standard output at once, past `print`'s buffer: a script waiting for a
/// line sees it now.
func writeStandardOutput(_ text: String) {
    _ = try? FileDescriptor.standardOutput.writeAll(text.utf8)
}
