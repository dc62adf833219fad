import SystemPackage

/// One write to a knob through the mount, as the daemon logs it.
public struct KnobWrite: Sendable {
    /// The knob, e.g. `dcbm/offloading`.
    public var path: String
    /// What it showed before the write (without the trailing newline).
    public var oldValue: String
    /// What it shows after.
    public var newValue: String
    /// The writer, as FUSE reports it.
    public var pid: Int32
    public var uid: UInt32
    /// The errno the write failed with, or nil if it was stored.
    public var refusal: Errno?
    /// What was written, escaped for a log line (`\n`, `\xff`) and cut at `inputLogBytes`.
    public var input: String

    /// How much of a written value the log shows.
    public static let inputLogBytes = 64

    /// `bytes` as a log line shows them: printable ASCII as is, anything else escaped.
    static func escaped(_ bytes: UnsafeRawBufferPointer) -> String {
        var text = ""
        for byte in bytes.prefix(inputLogBytes) {
            switch byte {
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + String(byte, radix: 16).leftPadded(to: 2)
            }
        }
        return bytes.count > inputLogBytes ? text + "…(\(bytes.count) bytes)" : text
    }

    /// Whether the write changed what the knob shows.
    public var changed: Bool { oldValue != newValue }
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
