import Testing
@testable import FolioMemory

struct BuddyAllocatorTests {
    static let twoMiB = 2 << 20

    @Test func allocate_splitsALargeBlockAndFreeMergesItBack() throws {
        var buddy = BuddyAllocator(size: Self.twoMiB)
        let first = buddy.allocate(order: 0)
        let second = buddy.allocate(order: 0)
        #expect(first == 0 && second == 4096)
        #expect(buddy.freeBytes == Self.twoMiB - 8192)
        buddy.release(offset: 0, order: 0)
        buddy.release(offset: 4096, order: 0)
        #expect(buddy.freeBytes == Self.twoMiB)
        let whole = buddy.allocate(order: 9)
        #expect(whole == 0)
    }

    @Test(arguments: 0...9)
    func allocate_ofEveryOrder_returnsAlignedDisjointBlocksUntilFull(order: Int) {
        var buddy = BuddyAllocator(size: 2 * Self.twoMiB)
        let size = 4096 << order
        var blocks: [Int] = []
        while let block = buddy.allocate(order: order) { blocks.append(block) }
        #expect(blocks.count == 2 * Self.twoMiB / size)
        #expect(blocks.allSatisfy { $0 % size == 0 })
        #expect(Set(blocks).count == blocks.count)
        #expect(buddy.freeBytes == 0)
        for block in blocks.shuffled() { buddy.release(offset: block, order: order) }
        #expect(buddy.freeBytes == 2 * Self.twoMiB)
        let first = buddy.allocate(order: 9)
        let second = buddy.allocate(order: 9)
        #expect(first != nil && second != nil)
    }

    @Test func mixedOrders_neverOverlap() {
        var buddy = BuddyAllocator(size: 4 * Self.twoMiB)
        var generator = SystemRandomNumberGenerator()
        var live: [(offset: Int, order: Int)] = []
        for _ in 0..<2000 {
            if Bool.random(using: &generator), let index = live.indices.randomElement(using: &generator) {
                let block = live.remove(at: index)
                buddy.release(offset: block.offset, order: block.order)
            } else {
                let order = Int.random(in: 0...9, using: &generator)
                if let offset = buddy.allocate(order: order) { live.append((offset, order)) }
            }
            let ranges = live.map { $0.offset..<($0.offset + (4096 << $0.order)) }.sorted { $0.lowerBound < $1.lowerBound }
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound })
            #expect(buddy.freeBytes + ranges.reduce(0) { $0 + $1.count } == 4 * Self.twoMiB)
        }
    }

    @Test func size_isRoundedDownToWholeLargestBlocks() {
        #expect(BuddyAllocator(size: Self.twoMiB + 4096).freeBytes == Self.twoMiB)
        var empty = BuddyAllocator(size: 4096)
        let none = empty.allocate(order: 0)
        #expect(none == nil)
    }
}
