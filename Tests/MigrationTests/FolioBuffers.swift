import Foundation
import TestSupport
@testable import Migration

/// Source and destination memory for a batch of folios, with a guard page after each
/// destination so a copy that writes one byte too many is caught.
final class FolioBuffers: @unchecked Sendable {
    static let guardBytes = 4096
    static let guardPattern: UInt8 = 0xA5

    let lengths: [Int]
    private let sources: [UnsafeMutableRawBufferPointer]
    private let destinations: [UnsafeMutableRawBufferPointer]

    /// Folios of `lengths` bytes, sources filled from `seed`, destinations zeroed.
    init(lengths: [Int], seed: UInt64 = 1) {
        self.lengths = lengths
        var generator = SplitMix64(seed: seed)
        sources = lengths.map { length in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 4096)
            for index in stride(from: 0, to: length, by: 8) {
                withUnsafeBytes(of: generator.next()) { word in
                    let count = min(8, length - index)
                    buffer.baseAddress!.advanced(by: index).copyMemory(from: word.baseAddress!, byteCount: count)
                }
            }
            return buffer
        }
        destinations = lengths.map { length in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length + Self.guardBytes, alignment: 4096)
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            buffer[length...].initializeMemory(as: UInt8.self, repeating: Self.guardPattern)
            return buffer
        }
    }

    convenience init(count: Int, length: Int, seed: UInt64 = 1) {
        self.init(lengths: Array(repeating: length, count: count), seed: seed)
    }

    deinit {
        sources.forEach { $0.deallocate() }
        destinations.forEach { $0.deallocate() }
    }

    /// The batch as the slot takes it.
    var copies: [FolioCopy] {
        zip(sources, destinations).map { FolioCopy(source: UnsafeRawPointer($0.baseAddress!), destination: $1.baseAddress!, length: $0.count) }
    }

    /// Zeroes every destination again (guards stay).
    func clearDestinations() {
        for (index, destination) in destinations.enumerated() {
            UnsafeMutableRawBufferPointer(rebasing: destination[..<lengths[index]]).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// The indices of folios whose destination differs from the source or whose guard was hit.
    func damagedFolios() -> [Int] {
        lengths.indices.filter { index in
            let length = lengths[index]
            let same = memcmp(sources[index].baseAddress!, destinations[index].baseAddress!, length) == 0
            let guardIntact = destinations[index][length...].allSatisfy { $0 == Self.guardPattern }
            return !same || !guardIntact
        }
    }

    /// Runs `body` with the batch as an unsafe buffer.
    func withBatch<R>(_ body: (UnsafeBufferPointer<FolioCopy>) -> R) -> R {
        copies.withUnsafeBufferPointer(body)
    }
}
