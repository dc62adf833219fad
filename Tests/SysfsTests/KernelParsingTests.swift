import SystemPackage
import Testing
@testable import Sysfs

/// The answers below are lib/kstrtox.c's for the same input bytes.
struct KernelParsingTests {
    @Test(arguments: [
        ("1", UInt32(1)), ("1\n", 1), ("+1", 1), ("+1\n", 1), ("0", 0), ("4294967295", UInt32.max),
        ("0010", 10), ("16", 16),
    ] as [(String, UInt32)])
    func kstrtouint_base10_acceptsWhatTheKernelAccepts(input: String, expected: UInt32) throws {
        #expect(try kstrtouint(input) == expected)
    }

    @Test(arguments: [
        ("", Errno.invalidArgument), (" 1", .invalidArgument), ("1 ", .invalidArgument), ("1\n\n", .invalidArgument),
        ("-1", .invalidArgument), ("+", .invalidArgument), ("++1", .invalidArgument), ("+-1", .invalidArgument),
        ("\n", .invalidArgument), ("1x", .invalidArgument), ("0x10", .invalidArgument), ("garbage\n", .invalidArgument),
        ("4294967296", .outOfRange), ("18446744073709551616", .outOfRange), ("99999999999999999999x", .outOfRange),
    ] as [(String, Errno)])
    func kstrtouint_base10_rejectsWithTheKernelsErrno(input: String, expected: Errno) {
        #expect(throws: expected) { try kstrtouint(input) }
    }

    @Test(arguments: [
        ("0x10", UInt32(16)), ("0X1f", 31), ("010", 8), ("0", 0), ("0\n", 0), ("10", 10), ("+0x10\n", 16), ("0xFFFFFFFF", UInt32.max),
    ] as [(String, UInt32)])
    func kstrtouint_base0_picksTheRadixFromThePrefix(input: String, expected: UInt32) throws {
        #expect(try kstrtouint(input, base: 0) == expected)
    }

    @Test(arguments: ["0x", "0xg", "08", "09\n", "0x\n", "-0x1"])
    func kstrtouint_base0_rejectsBadPrefixedNumbers(input: String) {
        #expect(throws: Errno.invalidArgument) { try kstrtouint(input, base: 0) }
    }

    @Test func kstrtoull_acceptsTheFullRangeAndRejectsOneMore() throws {
        #expect(try kstrtoull("18446744073709551615") == UInt64.max)
        #expect(throws: Errno.outOfRange) { try kstrtoull("18446744073709551616") }
        #expect(try kstrtoull("0xffffffffffffffff", base: 0) == UInt64.max)
        #expect(throws: Errno.outOfRange) { try kstrtoull("0x10000000000000000", base: 0) }
    }

    @Test(arguments: [
        ("-1", Int32(-1)), ("-1\n", -1), ("+5", 5), ("2147483647", Int32.max), ("-2147483648", Int32.min), ("-0", 0),
    ] as [(String, Int32)])
    func kstrtoint_acceptsSignedValues(input: String, expected: Int32) throws {
        #expect(try kstrtoint(input) == expected)
    }

    @Test(arguments: [
        ("2147483648", Errno.outOfRange), ("-2147483649", .outOfRange), ("--1", .invalidArgument), ("-+1", .invalidArgument),
        ("- 1", .invalidArgument), ("-", .invalidArgument), ("-9223372036854775809", .outOfRange),
    ] as [(String, Errno)])
    func kstrtoint_rejectsWithTheKernelsErrno(input: String, expected: Errno) {
        #expect(throws: expected) { try kstrtoint(input) }
    }

    @Test func kstrtoll_coversTheWholeSignedRange() throws {
        #expect(try kstrtoll("-9223372036854775808") == Int64.min)
        #expect(try kstrtoll("9223372036854775807") == Int64.max)
        #expect(throws: Errno.outOfRange) { try kstrtoll("9223372036854775808") }
    }

    @Test(arguments: [
        ("1", true), ("y", true), ("Y", true), ("t", true), ("T", true), ("yes", true), ("1\n", true), ("10", true),
        ("on", true), ("On", true), ("oN\n", true), ("true", true),
        ("0", false), ("n", false), ("N", false), ("f", false), ("F", false), ("no", false), ("0\n", false),
        ("off", false), ("OFF", false), ("of", false), ("false", false),
    ] as [(String, Bool)])
    func kstrtobool_looksAtTheFirstOneOrTwoCharacters(input: String, expected: Bool) throws {
        #expect(try kstrtobool(input) == expected)
    }

    @Test(arguments: ["", "\n", " 1", "2", "o", "o\n", "ok", "-1", "garbage\n", "x"])
    func kstrtobool_rejectsEverythingElse(input: String) {
        #expect(throws: Errno.invalidArgument) { try kstrtobool(input) }
    }
}
