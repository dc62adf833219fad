import Foundation
import TestSupport
import SystemPackage
import Testing
@testable import Sysfs

/// Mutation fuzzing of the knob parsers from the committed corpus (`Corpus/`), each result
/// checked against an independent reading of lib/kstrtox.c's grammar. `make fuzz` runs longer.
struct ParserFuzzTests {
    static let corpus = Mutator.corpus(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus"))
    static let dictionary = ["0x", "0X", "+", "-", "\n", "on", "of", "kernel", ",", "18446744073709551616", "4294967296", "\0"]

    /// The kernel's base-10 answer, worked out another way: the grammar by hand, the value by
    /// Swift's own parser. nil means EINVAL; `.outOfRange` means ERANGE.
    static func expectedUnsigned(_ bytes: [UInt8], limit: UInt64) -> Result<UInt64, Errno> {
        var rest = bytes[...]
        if rest.first == UInt8(ascii: "+") { rest = rest.dropFirst() }
        let digits = rest.prefix { (48...57).contains($0) }
        // As _kstrtoull(): a run of digits that overflows is ERANGE whatever follows it.
        let run = UInt64(String(decoding: digits, as: UTF8.self))
        if !digits.isEmpty && run == nil { return .failure(.outOfRange) }
        var tail = rest.dropFirst(digits.count)
        if tail.first == 10 { tail = tail.dropFirst() }
        guard let value = run, tail.isEmpty else { return .failure(.invalidArgument) }
        return value <= limit ? .success(value) : .failure(.outOfRange)
    }

    static func expectedBool(_ bytes: [UInt8]) -> Bool? {
        switch bytes.first.map(Unicode.Scalar.init) {
        case "y", "Y", "t", "T", "1": true
        case "n", "N", "f", "F", "0": false
        case "o", "O":
            switch bytes.dropFirst().first.map(Unicode.Scalar.init) {
            case "n", "N": true
            case "f", "F": false
            default: nil
            }
        default: nil
        }
    }

    @Test func corpus_isThere() {
        #expect(Self.corpus.count >= 20)
    }

    @Test func mutatedInputs_parseExactlyAsTheKernelDoes() {
        var mutator = Mutator(seed: 20261128, dictionary: Self.dictionary)
        var mismatches: [String] = []
        for round in 0..<Mutator.iterations where mismatches.count < 5 {
            // The corpus first, as it is (crashes found before stay fixed), then mutations of it.
            let bytes = round < Self.corpus.count ? Self.corpus[round] : mutator.mutate(Self.corpus[round % Self.corpus.count])
            // The knob sees the value up to its first NUL, as a C string.
            let value = Array(bytes.prefix { $0 != 0 })
            let text = String(decoding: value, as: UTF8.self)
            let utf8 = Array(text.utf8)
            let unsigned = Result { () throws(Errno) in UInt64(try kstrtouint(text)) }
            if unsigned != Self.expectedUnsigned(utf8, limit: UInt64(UInt32.max)) { mismatches.append("kstrtouint \(utf8)") }
            let wide = Result { () throws(Errno) in try kstrtoull(text) }
            if wide != Self.expectedUnsigned(utf8, limit: .max) { mismatches.append("kstrtoull \(utf8)") }
            if (try? kstrtobool(text)) != Self.expectedBool(utf8) { mismatches.append("kstrtobool \(utf8)") }
            // Base 0 and the signed parsers: whatever they accept reads back the same in base 10.
            if let number = try? kstrtouint(text, base: 0), (try? kstrtouint(String(number))) != number { mismatches.append("base 0 \(utf8)") }
            if let number = try? kstrtoint(text), (try? kstrtoint(String(number))) != number { mismatches.append("kstrtoint \(utf8)") }
            _ = try? parseNameList(text, among: ["syscall", "demotion", "promotion", "compaction"])
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test func mutatedWrites_neverChangeAKnobThatRefusesThem() throws {
        let value = Box(7)
        let knob = SysfsAttribute.unsigned("n", range: 1...16, get: { UInt32(value.get()) }, set: { value.set(Int($0)) })
        var mutator = Mutator(seed: 7, dictionary: Self.dictionary)
        for round in 0..<Mutator.iterations / 4 {
            let bytes = mutator.mutate(Self.corpus[round % Self.corpus.count])
            let before = value.get()
            let stored = bytes.withUnsafeBytes { buffer in Result { () throws(Errno) in try knob.write(buffer) } }
            if case .failure = stored { #expect(value.get() == before) }
            #expect((1...16).contains(value.get()))
        }
    }
}

/// A value closures can share.
final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int
    init(_ value: Int) { self.value = value }
    func get() -> Int { lock.withLock { value } }
    func set(_ new: Int) { lock.withLock { value = new } }
}
