import Testing
@testable import Migration

struct MTCopyDriverTests {
    @Test(arguments: [1, 2, 3, 7, 12, 64])
    func copy_withAnyThreadCount_copiesEveryByteOfOddSizedFolios(threads: Int) {
        let driver = MTCopyDriver(threads: threads)
        try? driver.activate()
        defer { driver.deactivate() }
        let buffers = FolioBuffers(lengths: [4096, 2 << 20, 12_345, 1, 65_537, 4096 * 3 + 7], seed: UInt64(threads))
        let copied = buffers.withBatch { batch in
            var flags = [Bool](repeating: false, count: batch.count)
            flags.withUnsafeMutableBufferPointer { driver.copy(batch, copied: $0) }
            return flags
        }
        #expect(copied.allSatisfy { $0 })
        #expect(buffers.damagedFolios().isEmpty)
    }

    @Test(arguments: [3, 7, 12])
    func copy_ofOneLargeFolio_cutsItAmongAllThreads(threads: Int) {
        let driver = MTCopyDriver(threads: threads)
        try? driver.activate()
        defer { driver.deactivate() }
        let buffers = FolioBuffers(count: 1, length: 2 << 20)
        buffers.withBatch { batch in
            var flags = [false]
            flags.withUnsafeMutableBufferPointer { driver.copy(batch, copied: $0) }
        }
        #expect(buffers.damagedFolios().isEmpty)
    }

    @Test(arguments: [(2 << 20, 3), (4096 * 512, 7), (1_000_003, 12), (100, 12), (1, 64)])
    func split_coversEveryByteOnceInEvenShares(totalBytes: Int, parts: Int) {
        let ranges = MTCopyDriver.split(totalBytes: totalBytes, parts: parts)
        #expect(ranges.first?.lowerBound == 0)
        #expect(ranges.last?.upperBound == totalBytes)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        let sizes = ranges.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 2 * MTCopyDriver.cutAlignment)
        if totalBytes >= parts * 4096 { #expect(ranges.count == parts) }
    }

    @Test func setThreads_whileActive_resizesThePoolBeforeTheNextBatch() throws {
        let driver = MTCopyDriver(threads: 2)
        try driver.activate()
        defer { driver.deactivate() }
        let buffers = FolioBuffers(count: 8, length: 64 << 10)
        for threads in [5, 1, 9] {
            try driver.setThreads(threads)
            #expect(driver.poolSize == threads)
            buffers.clearDestinations()
            buffers.withBatch { batch in
                var flags = [Bool](repeating: false, count: batch.count)
                flags.withUnsafeMutableBufferPointer { driver.copy(batch, copied: $0) }
            }
            #expect(driver.poolSize == threads)
            #expect(buffers.damagedFolios().isEmpty)
        }
    }

    @Test func copy_whenNotActive_copiesNothingSoTheFallbackDoes() {
        let driver = MTCopyDriver(threads: 2)
        let buffers = FolioBuffers(count: 2, length: 4096)
        let copied = buffers.withBatch { batch in
            var flags = [false, false]
            flags.withUnsafeMutableBufferPointer { driver.copy(batch, copied: $0) }
            return flags
        }
        #expect(copied == [false, false])
    }
}
