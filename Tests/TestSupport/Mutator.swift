import Foundation

/// A small mutation fuzzer for the parsers and the wire decoder: seeds from a committed corpus,
/// mutated with byte flips, interesting bytes, dictionary tokens, deletions, duplications and
/// truncations. Deterministic for a seed, so a failure can be replayed.
public struct Mutator {
    private var generator: SplitMix64
    private let dictionary: [[UInt8]]

    public init(seed: UInt64, dictionary: [String] = []) {
        generator = SplitMix64(seed: seed)
        self.dictionary = dictionary.map { Array($0.utf8) }
    }

    /// Iterations per fuzz test: `FOLIOD_FUZZ_ITERATIONS`, or a bounded default for `make test`.
    public static var iterations: Int {
        ProcessInfo.processInfo.environment["FOLIOD_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 20000
    }

    /// Every file of `directory`, as bytes, in name order.
    public static func corpus(_ directory: URL) -> [[UInt8]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { FileManager.default.contents(atPath: directory.appendingPathComponent($0).path).map(Array.init) }
    }

    private mutating func next() -> UInt64 { generator.next() }

    private mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

    /// One to four mutations of `input`.
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            switch below(7) {
            case 0 where !bytes.isEmpty: bytes[below(bytes.count)] ^= UInt8(1 << below(8))
            case 1 where !bytes.isEmpty: bytes[below(bytes.count)] = [0, 0xFF, 0x7F, 0x80, 10, 32, 43, 45, 48, 57, 120][below(11)]
            case 2 where !dictionary.isEmpty: bytes.insert(contentsOf: dictionary[below(dictionary.count)], at: below(bytes.count + 1))
            case 3 where !bytes.isEmpty:
                let start = below(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(8)))
            case 4 where !bytes.isEmpty:
                let start = below(bytes.count)
                bytes.insert(contentsOf: bytes[start..<min(bytes.count, start + 1 + below(16))], at: below(bytes.count + 1))
            case 5: bytes = Array(bytes.prefix(below(bytes.count + 1)))
            default: bytes.insert(UInt8(truncatingIfNeeded: next()), at: below(bytes.count + 1))
            }
        }
        return bytes
    }
}
