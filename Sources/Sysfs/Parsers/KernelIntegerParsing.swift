import SystemPackage

// The integer parsers of lib/kstrtox.c, byte for byte: one optional leading '+', digits in the
// base, one optional trailing '\n', nothing else. An empty or non-numeric string is EINVAL; a
// number that does not fit is ERANGE (checked before EINVAL, as the kernel does).

/// `kstrtoull()`: base 0 picks 16 for `0x`, 8 for a leading `0`, else 10.
public func kstrtoull(_ string: some StringProtocol, base: UInt64 = 10) throws(Errno) -> UInt64 {
    var bytes = Array(string.utf8)[...]
    if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
    return try parseUnsignedInteger(bytes, base: base)
}

/// `kstrtoul()`; `unsigned long` is 64 bits on every target foliod runs on.
public func kstrtoul(_ string: some StringProtocol, base: UInt64 = 10) throws(Errno) -> UInt64 {
    try kstrtoull(string, base: base)
}

/// `kstrtouint()`: as `kstrtoull()`, then ERANGE past `UINT_MAX`.
public func kstrtouint(_ string: some StringProtocol, base: UInt64 = 10) throws(Errno) -> UInt32 {
    let value = try kstrtoull(string, base: base)
    guard let narrowed = UInt32(exactly: value) else { throw .outOfRange }
    return narrowed
}

/// `kstrtoll()`: a leading '-' negates; the magnitude must fit `LLONG_MIN...LLONG_MAX`.
public func kstrtoll(_ string: some StringProtocol, base: UInt64 = 10) throws(Errno) -> Int64 {
    let bytes = Array(string.utf8)[...]
    if bytes.first == UInt8(ascii: "-") {
        let magnitude = try parseUnsignedInteger(bytes.dropFirst(), base: base)
        let negated = Int64(bitPattern: 0 &- magnitude)
        guard negated <= 0 else { throw .outOfRange }
        return negated
    }
    let value = try kstrtoull(string, base: base)
    guard let signed = Int64(exactly: value) else { throw .outOfRange }
    return signed
}

/// `kstrtoint()`: as `kstrtoll()`, then ERANGE outside `INT_MIN...INT_MAX`.
public func kstrtoint(_ string: some StringProtocol, base: UInt64 = 10) throws(Errno) -> Int32 {
    let value = try kstrtoll(string, base: base)
    guard let narrowed = Int32(exactly: value) else { throw .outOfRange }
    return narrowed
}

/// `_kstrtoull()`: the radix fix-up, the digit loop and the tail check.
private func parseUnsignedInteger(_ input: ArraySlice<UInt8>, base requestedBase: UInt64) throws(Errno) -> UInt64 {
    var (digits, base) = fixUpRadix(input, base: requestedBase)
    var result: UInt64 = 0
    var consumed = 0
    var overflowed = false
    for byte in digits {
        guard let value = digitValue(byte), value < base else { break }
        // As _parse_integer_limit(): only look for overflow once the top nibble is in use.
        if result & (~UInt64(0) << 60) != 0, result > (UInt64.max - value) / base {
            overflowed = true
        }
        result = result &* base &+ value
        consumed += 1
    }
    if overflowed { throw .outOfRange }
    if consumed == 0 { throw .invalidArgument }
    digits = digits.dropFirst(consumed)
    if digits.first == UInt8(ascii: "\n") { digits = digits.dropFirst() }
    guard digits.isEmpty else { throw .invalidArgument }
    return result
}

/// `_parse_integer_fixup_radix()`.
private func fixUpRadix(_ input: ArraySlice<UInt8>, base: UInt64) -> (ArraySlice<UInt8>, UInt64) {
    var base = base
    let bytes = Array(input)
    let hasHexPrefix = bytes.count >= 2 && bytes[0] == UInt8(ascii: "0") && (bytes[1] | 0x20) == UInt8(ascii: "x")
    if base == 0 {
        if bytes.first == UInt8(ascii: "0") {
            base = hasHexPrefix && bytes.count >= 3 && digitValue(bytes[2]).map { $0 < 16 } == true ? 16 : 8
        } else {
            base = 10
        }
    }
    if base == 16 && hasHexPrefix { return (input.dropFirst(2), base) }
    return (input, base)
}

private func digitValue(_ byte: UInt8) -> UInt64? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(byte - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt64(byte - UInt8(ascii: "A") + 10)
    default: nil
    }
}
