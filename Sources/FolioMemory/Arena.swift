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
    private let buddy: Mutex<BuddyAllocator>
    // Per 2 MiB block, whether its pages were faulted in: the first block handed out from it
    // populates all of it in one call, so neither the client's first write nor a migration's
    // copy into it takes 512 page faults. Guarded by `buddy`'s lock.
    private let populated: Mutex<[Bool]>

    init(tier: Tier, spaceID: Int) throws(SystemCallError) {
        self.tier = tier
        length = tier.spec.sizeBytes
        fd = try MemorySystem.memfd(name: "foliod-\(spaceID)-\(tier.spec.name)", hugetlb: tier.spec.hugePages == .hugetlb)
        do {
            try MemorySystem.resize(fd, to: length)
            base = try MemorySystem.mapShared(fd, length: length)
        } catch {
            try? fd.close()
            throw error
        }
        buddy = Mutex(BuddyAllocator(size: length))
        populated = Mutex(Array(repeating: false, count: length / BuddyAllocator.blockBytes))
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
        guard try MemorySystem.size(of: fd) == length else {
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
            base = try MemorySystem.mapShared(fd, length: length)
        } catch {
            for order in charged { tier.credit(order: order, count: 1) }
            throw error
        }
        self.fd = fd
        buddy = Mutex(BuddyAllocator(size: length, used: used))
        // An adopted arena's used blocks hold data, so they are in memory already.
        var blocks = Array(repeating: false, count: length / BuddyAllocator.blockBytes)
        for block in used { blocks[block.offset / BuddyAllocator.blockBytes] = true }
        populated = Mutex(blocks)
    }

    /// A block of `order`, charged to the tier; ENOMEM when the tier or this arena is full.
    func allocate(order: Int) throws(Errno) -> Int {
        try tier.charge(order: order, count: 1)
        guard let offset = buddy.withLock({ $0.allocate(order: order) }) else {
            tier.credit(order: order, count: 1)
            throw .noMemory
        }
        populate(blockOf: offset)
        return offset
    }

    /// Faults in the 2 MiB block holding `offset` the first time anything in it is handed out.
    private func populate(blockOf offset: Int) {
        let block = offset / BuddyAllocator.blockBytes
        let first = populated.withLock { populated in
            defer { populated[block] = true }
            return !populated[block]
        }
        if first { MemorySystem.populateWrite(base + block * BuddyAllocator.blockBytes, length: BuddyAllocator.blockBytes) }
    }

    /// Returns a block and credits the tier.
    func release(offset: Int, order: Int) {
        buddy.withLock { $0.release(offset: offset, order: order) }
        tier.credit(order: order, count: 1)
    }

    /// Unmaps and closes; the memory goes when clients' mappings go too.
    func close() {
        MemorySystem.unmap(base, length: length)
        try? fd.close()
    }
}
