import SystemPackage

/// `sysfs_streq()`: equal, or equal but for one trailing newline on either side.
public func sysfsStreq(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
    stripOneNewline(lhs) == stripOneNewline(rhs)
}

/// Finds `input` (with at most one trailing newline) among `names`; EINVAL if it is none of them.
public func parseName(_ input: some StringProtocol, among names: [String]) throws(Errno) -> Int {
    guard let index = names.firstIndex(where: { sysfsStreq($0, input) }) else { throw .invalidArgument }
    return index
}

/// A comma-separated list of names, with one optional trailing newline, as masks take it:
/// `syscall,demotion`. Returns the indices of the names; an empty element, an unknown name
/// or a space is EINVAL.
public func parseNameList(_ input: some StringProtocol, among names: [String]) throws(Errno) -> Set<Int> {
    let body = stripOneNewline(input)
    guard !body.isEmpty else { throw .invalidArgument }
    var picked = Set<Int>()
    for element in body.split(separator: ",", omittingEmptySubsequences: false) {
        guard let index = names.firstIndex(where: { $0 == element }) else { throw .invalidArgument }
        picked.insert(index)
    }
    return picked
}

private func stripOneNewline(_ string: some StringProtocol) -> Substring {
    let whole = Substring(string)
    return whole.last == "\n" ? whole.dropLast() : whole
}
