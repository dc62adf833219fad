/// The deterministic bytes `folioctl fill` writes and `folioctl verify` checks (and the load
/// tools of `foliobench` write and check): each 8-byte word is a SplitMix64 of the seed, the
/// handle and the word's index, so a folio moved or swapped is caught.
public struct FolioPattern: Sendable {
    public let seed: UInt64
    public let handle: FolioHandle

    public init(seed: UInt64, handle: FolioHandle) {
        self.seed = seed
        self.handle = handle
    }

    public func word(_ index: Int) -> UInt64 {
        SplitMix.mix(seed &+ UInt64(handle.rawValue) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
    }

    public func fill(_ folio: UnsafeMutableRawBufferPointer) {
        let words = folio.bindMemory(to: UInt64.self)
        for index in words.indices { words[index] = word(index) }
    }

    /// Bytes that differ from the pattern (counted by word, 8 at a time).
    public func mismatchedBytes(_ folio: UnsafeRawBufferPointer) -> Int {
        let words = folio.bindMemory(to: UInt64.self)
        return words.indices.reduce(0) { $0 + (words[$1] == word($1) ? 0 : 8) }
    }

    public func mismatchedBytes(_ folio: UnsafeMutableRawBufferPointer) -> Int {
        mismatchedBytes(UnsafeRawBufferPointer(folio))
    }
}

/// SplitMix64: a fast, seedable generator, so a run's choices repeat; `mix` is its output
/// function, which `FolioPattern` uses to derive a word from its position.
public struct SplitMix: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
