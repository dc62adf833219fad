import FolioSharedMemory
import Synchronization
import SystemCalls
import SystemPackage

/// One tier's memory inside one address space: a memfd of the tier's size (sparse until
/// touched), the daemon's mapping of it, and a buddy allocator over it.
final class Arena: @unchecked Sendable {
    let tier: Tier
    let fd: FileDescriptor
    let base: UnsafeMutableRawPointer
    let length: Int
    private struct Blocks {
        var buddy: BuddyAllocator
        // Per 2 MiB block, whether its pages were faulted in: the first block handed out from
        // it populates all of it in one call, so neither the client's first write nor a
        // migration's copy into it takes 512 page faults.
        var populated: [Bool]
        // Freed blocks of the small orders, kept out of the buddy allocator as the kernel keeps
        // freed pages on its per-CPU lists: a migration frees thousands of blocks of one order
        // and the next one takes as many back, and splitting and merging each of them cost
        // more than the rest of a 4 KiB folio's move. They go back to the allocator (and
        // merge) when an allocation finds it cannot be served otherwise.
        var cached: [[Int]]

        /// A block of `order`: a cached one first, else from the allocator, else from the
        /// allocator after every cached block went back to it.
        mutating func take(order: Int) -> Int? {
            if order <= Arena.maxCachedOrder, let offset = cached[order].popLast() { return offset }
            if let offset = buddy.allocate(order: order) { return offset }
            guard cached.contains(where: { !$0.isEmpty }) else { return nil }
            drain()
            return buddy.allocate(order: order)
        }

        mutating func give(offset: Int, order: Int) {
            if order <= Arena.maxCachedOrder {
                cached[order].append(offset)
            } else {
                buddy.release(offset: offset, order: order)
            }
        }

        /// Returns every cached block to the allocator, which merges what it can.
        mutating func drain() {
            for order in cached.indices {
                for offset in cached[order] { buddy.release(offset: offset, order: order) }
                cached[order].removeAll(keepingCapacity: true)
            }
        }
    }

    /// The largest order kept in `cached`: the kernel's `PAGE_ALLOC_COSTLY_ORDER`, 32 KiB.
    static let maxCachedOrder = 3

    // One lock for both: an allocation takes it once.
    private let blocks: Mutex<Blocks>

    init(tier: Tier, spaceID: Int) throws(SystemCallError) {
        self.tier = tier
        length = tier.spec.sizeBytes
        fd = try SharedMemory.memfd(name: "foliod-\(spaceID)-\(tier.spec.name)", hugetlb: tier.spec.hugePages == .hugetlb)
        do {
            try SharedMemory.resize(fd, to: length)
            base = try SharedMemory.mapShared(fd, length: length)
        } catch {
            try? fd.close()
            throw error
        }
        blocks = Mutex(Blocks(buddy: BuddyAllocator(size: length), populated: Array(repeating: false, count: length / BuddyAllocator.blockBytes), cached: Self.emptyCache))
        do {
            if tier.spec.hugePages == .thp { try MemorySystem.adviseHugePages(base, length: length) }
            if let node = tier.spec.node { try MemorySystem.bind(base, length: length, node: node) }
        } catch {
            close()
            throw error
        }
    }

    /// The arena a previous daemon left in `fd` (a memfd of the tier's size), with the blocks
    /// `used` taken and charged to the tier. EINVAL if the file is not the tier's size;
    /// ENOMEM if the tier cannot hold the blocks (the config shrank it).
    init(tier: Tier, adopting fd: FileDescriptor, used: [(offset: Int, order: Int)]) throws(SystemCallError) {
        self.tier = tier
        length = tier.spec.sizeBytes
        guard try SharedMemory.size(of: fd) == length else {
            throw SystemCallError(call: "tier \(tier.spec.name): the stored memfd is not \(length) bytes", errno: .invalidArgument)
        }
        var charged: [Int] = []
        for block in used {
            guard (try? tier.charge(order: block.order, count: 1)) != nil else {
                for order in charged { tier.credit(order: order, count: 1) }
                throw SystemCallError(call: "tier \(tier.spec.name): no room for the stored folios", errno: .noMemory)
            }
            charged.append(block.order)
        }
        do {
            base = try SharedMemory.mapShared(fd, length: length)
        } catch {
            for order in charged { tier.credit(order: order, count: 1) }
            throw error
        }
        self.fd = fd
        // An adopted arena's used blocks hold data, so they are in memory already.
        var populated = Array(repeating: false, count: length / BuddyAllocator.blockBytes)
        for block in used { populated[block.offset / BuddyAllocator.blockBytes] = true }
        blocks = Mutex(Blocks(buddy: BuddyAllocator(size: length, used: used), populated: populated, cached: Self.emptyCache))
    }

    /// Up to `count` blocks of `order`, charged to the tier, under one lock: as many as the
    /// tier and this arena have room for (a migration batch reserves its destinations, an
    /// allocation its folios, at once).
    func allocate(order: Int, count: Int) -> [Int] {
        let bytes = FolioTableLayout.bytes(order: order)
        // Shadows are the first thing pressure takes back.
        let short = bytes * count - tier.freeBytes
        if short > 0 { tier.shadows.reclaim(short) }
        var charged = min(count, max(tier.freeBytes, 0) / bytes)
        // Another space may take room between the look and the charge: look again, not one
        // block less at a time.
        while charged > 0, (try? tier.charge(order: order, count: charged)) == nil {
            charged = min(charged - 1, max(tier.freeBytes, 0) / bytes)
        }
        guard charged > 0 else { return [] }
        var unpopulated: [Int] = []
        let offsets = blocks.withLock { blocks -> [Int] in
            var offsets: [Int] = []
            offsets.reserveCapacity(charged)
            for _ in 0..<charged {
                guard let offset = blocks.take(order: order) else { break }
                let block = offset / BuddyAllocator.blockBytes
                if !blocks.populated[block] {
                    blocks.populated[block] = true
                    unpopulated.append(block)
                }
                offsets.append(offset)
            }
            return offsets
        }
        if offsets.count < charged { tier.credit(order: order, count: charged - offsets.count) }
        for block in unpopulated {
            MemorySystem.populateWrite(base + block * BuddyAllocator.blockBytes, length: BuddyAllocator.blockBytes)
        }
        return offsets
    }

    /// Returns `released` blocks under one lock and credits the tier.
    func release(_ released: [(offset: Int, order: Int)]) {
        guard !released.isEmpty else { return }
        var perOrder = [Int](repeating: 0, count: FolioTableLayout.maxOrder + 1)
        blocks.withLock { blocks in
            for block in released {
                blocks.give(offset: block.offset, order: block.order)
                perOrder[block.order] += 1
            }
        }
        for (order, count) in perOrder.enumerated() where count > 0 { tier.credit(order: order, count: count) }
    }

    /// Returns a block and credits the tier.
    func release(offset: Int, order: Int) {
        blocks.withLock { $0.give(offset: offset, order: order) }
        tier.credit(order: order, count: 1)
    }

    private static var emptyCache: [[Int]] { Array(repeating: [], count: maxCachedOrder + 1) }

    /// Unmaps and closes; the memory goes when clients' mappings go too.
    func close() {
        SharedMemory.unmap(base, length: length)
        try? fd.close()
    }
}
