import FolioSharedMemory
/// A binary buddy allocator over `size` bytes in 4 KiB pages, orders 0–9 (4 KiB–2 MiB), as the
/// kernel's zone allocator: free lists per order, blocks split on allocation and merged with
/// their buddy on free. Not thread-safe; its arena locks around it.
///
/// The range is a row of 2 MiB page blocks. A whole free block sits on the order-9 stack; a
/// block that has been split gets a 512-byte map (per page: 0, or 1 + the order of the free
/// block starting there) that answers "is my buddy free?" in O(1) without hashing, and gives
/// its map up when it merges back whole. The maps are slots of one flat pool, so touching a
/// page's entry is one index, with no array of arrays to check and copy. Stacks of smaller orders may hold stale entries (a
/// block merged away since); `allocate` skips those by checking the map.
struct BuddyAllocator {
    static let maxOrder = FolioTableLayout.maxOrder
    static let pageSize = FolioTableLayout.pageSize
    static let blockBytes = pageSize << maxOrder
    static let pagesPerBlock = 1 << maxOrder

    /// Bytes the allocator manages (a multiple of the largest block).
    let size: Int
    /// Free block offsets per order (0–8 may be stale; 9 never is).
    private var stacks: [[Int]]
    /// Per 2 MiB block, the pool slot of its page map while it is split (-1 while whole).
    private var mapSlots: [Int32]
    /// The page maps, `pagesPerBlock` bytes per slot; slots of blocks merged back whole are
    /// reused from `freeSlots`.
    private var pool: [UInt8] = []
    private var freeSlots: [Int32] = []
    private(set) var freeBytes: Int

    /// An allocator whose whole range is free; `size` is rounded down to 2 MiB blocks.
    init(size: Int) {
        self.size = size / Self.blockBytes * Self.blockBytes
        stacks = Array(repeating: [], count: Self.maxOrder + 1)
        mapSlots = Array(repeating: -1, count: self.size / Self.blockBytes)
        // Lowest addresses on top, so a space fills its arena from the start.
        stacks[Self.maxOrder] = Array(stride(from: 0, to: self.size, by: Self.blockBytes).reversed())
        freeBytes = self.size
    }

    /// An allocator with exactly the blocks `used` (offset, order) taken: what a restarted
    /// daemon rebuilds from a folio table. The blocks must be aligned to their size, inside the
    /// range and apart from each other (the caller checks). Each 2 MiB block is split only as
    /// far as the used blocks in it need, as a run of allocations would have left it.
    init(size: Int, used: [(offset: Int, order: Int)]) {
        self.init(size: size)
        stacks[Self.maxOrder] = []
        freeBytes = 0
        let byBlock = Dictionary(grouping: used) { $0.offset / Self.blockBytes }
        for block in stride(from: self.size - Self.blockBytes, through: 0, by: -Self.blockBytes) {
            freeAround(byBlock[block / Self.blockBytes] ?? [], in: block, order: Self.maxOrder)
        }
    }

    /// Pushes the parts of `block` (of `order`) that no used block covers onto the free stacks.
    private mutating func freeAround(_ used: [(offset: Int, order: Int)], in block: Int, order: Int) {
        if used.isEmpty {
            pushFree(block, order: order)
            freeBytes += Self.pageSize << order
            return
        }
        if used.contains(where: { $0.offset == block && $0.order == order }) { return }
        let half = Self.pageSize << (order - 1)
        // The upper half first: the lower one ends on top of its stack, as in a fresh split.
        freeAround(used.filter { $0.offset >= block + half }, in: block + half, order: order - 1)
        freeAround(used.filter { $0.offset < block + half }, in: block, order: order - 1)
    }

    /// The offset of a free block of `order`, or nil when none is left.
    mutating func allocate(order: Int) -> Int? {
        precondition((0...Self.maxOrder).contains(order))
        for source in order...Self.maxOrder {
            guard let block = popFree(order: source) else { continue }
            // Split down to the wanted order, keeping the lower half and freeing the upper.
            for split in stride(from: source, to: order, by: -1) {
                pushFree(block + (Self.pageSize << (split - 1)), order: split - 1)
            }
            freeBytes -= Self.pageSize << order
            return block
        }
        return nil
    }

    /// Returns a block; merges it with its free buddy as far as possible.
    mutating func release(offset: Int, order: Int) {
        precondition(offset % (Self.pageSize << order) == 0, "misaligned block \(offset) of order \(order)")
        freeBytes += Self.pageSize << order
        var block = offset
        var current = order
        while current < Self.maxOrder {
            let buddy = block ^ (Self.pageSize << current)
            guard mapEntry(buddy) == UInt8(current + 1) else { break }
            setMapEntry(buddy, 0)  // its stack entry goes stale
            block = min(block, buddy)
            current += 1
        }
        pushFree(block, order: current)
    }

    private mutating func popFree(order: Int) -> Int? {
        while let block = stacks[order].popLast() {
            if order == Self.maxOrder { return block }
            if mapEntry(block) == UInt8(order + 1) {
                setMapEntry(block, 0)
                return block
            }
        }
        return nil
    }

    private mutating func pushFree(_ block: Int, order: Int) {
        stacks[order].append(block)
        if order == Self.maxOrder {
            let index = block / Self.blockBytes
            if mapSlots[index] >= 0 {
                freeSlots.append(mapSlots[index])
                mapSlots[index] = -1
            }
        } else {
            setMapEntry(block, UInt8(order + 1))
        }
    }

    private func mapEntry(_ offset: Int) -> UInt8 {
        let slot = mapSlots[offset / Self.blockBytes]
        return slot < 0 ? 0 : pool[Int(slot) * Self.pagesPerBlock + offset % Self.blockBytes / Self.pageSize]
    }

    private mutating func setMapEntry(_ offset: Int, _ value: UInt8) {
        let block = offset / Self.blockBytes
        if mapSlots[block] < 0 { mapSlots[block] = takeSlot() }
        pool[Int(mapSlots[block]) * Self.pagesPerBlock + offset % Self.blockBytes / Self.pageSize] = value
    }

    /// A zeroed map slot: a freed one, or a new one at the end of the pool.
    private mutating func takeSlot() -> Int32 {
        if let slot = freeSlots.popLast() {
            let start = Int(slot) * Self.pagesPerBlock
            for page in start..<start + Self.pagesPerBlock { pool[page] = 0 }
            return slot
        }
        pool.append(contentsOf: repeatElement(0, count: Self.pagesPerBlock))
        return Int32(pool.count / Self.pagesPerBlock - 1)
    }
}
