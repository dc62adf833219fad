/// A binary buddy allocator over `size` bytes in 4 KiB pages, orders 0–9 (4 KiB–2 MiB), as the
/// kernel's zone allocator: a free list per order, blocks split on allocation and merged with
/// their buddy on free. Not thread-safe; its arena locks around it.
struct BuddyAllocator {
    static let maxOrder = FolioTableLayout.maxOrder
    static let pageSize = FolioTableLayout.pageSize

    /// Free block offsets per order.
    private var free: [Set<Int>]
    /// Bytes the allocator manages (a multiple of the largest block).
    let size: Int

    /// An allocator whose whole range is free; `size` is rounded down to 2 MiB blocks.
    init(size: Int) {
        let block = Self.pageSize << Self.maxOrder
        self.size = size / block * block
        free = Array(repeating: [], count: Self.maxOrder + 1)
        for offset in stride(from: 0, to: self.size, by: block) { free[Self.maxOrder].insert(offset) }
    }

    /// The offset of a free block of `order`, or nil when none is left.
    mutating func allocate(order: Int) -> Int? {
        precondition((0...Self.maxOrder).contains(order))
        guard let source = (order...Self.maxOrder).first(where: { !free[$0].isEmpty }),
              let block = free[source].popFirst() else { return nil }
        // Split down to the wanted order, keeping the lower half and freeing the upper.
        for split in stride(from: source, to: order, by: -1) {
            free[split - 1].insert(block + (Self.pageSize << (split - 1)))
        }
        return block
    }

    /// Returns a block; merges it with its free buddy as far as possible.
    mutating func release(offset: Int, order: Int) {
        precondition(offset % (Self.pageSize << order) == 0, "misaligned block \(offset) of order \(order)")
        var block = offset
        var current = order
        while current < Self.maxOrder {
            let buddy = block ^ (Self.pageSize << current)
            guard free[current].remove(buddy) != nil else { break }
            block = min(block, buddy)
            current += 1
        }
        free[current].insert(block)
    }

    /// Free bytes.
    var freeBytes: Int {
        free.indices.reduce(0) { $0 + free[$1].count * (Self.pageSize << $1) }
    }
}
