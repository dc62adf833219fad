import SystemPackage

/// `kstrtobool()`: only the first one or two characters count, as in lib/kstrtox.c:
/// `Yy Tt 1` and `on` are true, `Nn Ff 0` and `off` are false, anything else is EINVAL.
public func kstrtobool(_ string: some StringProtocol) throws(Errno) -> Bool {
    let bytes = Array(string.utf8.prefix(2))
    switch bytes.first.map(Unicode.Scalar.init) {
    case "y", "Y", "t", "T", "1":
        return true
    case "n", "N", "f", "F", "0":
        return false
    case "o", "O":
        switch bytes.dropFirst().first.map(Unicode.Scalar.init) {
        case "n", "N": return true
        case "f", "F": return false
        default: throw .invalidArgument
        }
    default:
        throw .invalidArgument
    }
}
