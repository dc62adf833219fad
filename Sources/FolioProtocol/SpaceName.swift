import SystemPackage

/// The rules for a named space's name, checked where the daemon decodes an `attach`: names are
/// compared as the exact bytes the client sent, so two different byte strings must never decode
/// to one name. Anything that could blur that (invalid UTF-8, which decodes lossily) or that no
/// log or shell shows faithfully (NUL and other control characters) is EINVAL.
public enum SpaceName {
    /// The longest name, in bytes (NAME_MAX, as a file name).
    public static let maxBytes = 255

    /// The name these bytes spell, or EINVAL.
    public static func validate<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(Errno) -> String {
        guard !bytes.isEmpty, bytes.count <= maxBytes else { throw .invalidArgument }
        guard let name = String(validating: bytes, as: UTF8.self) else { throw .invalidArgument }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) else {
            throw .invalidArgument
        }
        return name
    }
}
