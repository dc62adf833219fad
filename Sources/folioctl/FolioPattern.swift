/// The deterministic bytes `fill` writes and `verify` checks: each 8-byte word is a SplitMix64
/// of the seed, the handle and the word's index, so a folio moved or swapped is caught.
import FolioClient

struct FolioPattern {
    let seed: UInt64
    let handle: FolioHandle

    func word(_ index: Int) -> UInt64 {
        SplitMix.mix(seed &+ UInt64(handle.rawValue) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
    }

    func fill(_ folio: UnsafeMutableRawBufferPointer) {
        let words = folio.bindMemory(to: UInt64.self)
        for index in words.indices { words[index] = word(index) }
    }

    /// Bytes that differ from the pattern (counted by word, 8 at a time).
    func mismatchedBytes(_ folio: UnsafeMutableRawBufferPointer) -> Int {
        let words = folio.bindMemory(to: UInt64.self)
        return words.indices.reduce(0) { $0 + (words[$1] == word($1) ? 0 : 8) }
    }
}

