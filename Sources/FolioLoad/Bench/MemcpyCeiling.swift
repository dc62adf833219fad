import FolioMemory
import Dispatch
import FolioSharedMemory
import SystemCalls
import FoundationEssentials
import Glibc
import SystemPackage

/// The machine's own ceiling for a size: the same bytes copied with plain `memcpy`, folio by
/// folio, between two memfd-backed shared mappings of the tier's page kind, on one thread and
/// on all. Measured once per round, beside the migrators, so a ratio compares one moment.
final class MemcpyCeiling: Sendable {
    let size: Int
    let count: Int
    let pageKind: HugePageMode
    private let source: SharedMapping
    private let destination: SharedMapping
    private let threads = ProcessInfo.processInfo.activeProcessorCount

    /// Buffers for `count` folios of `size` bytes, touched once so no measurement faults.
    init(size: Int, count: Int, pageKind: HugePageMode) throws {
        self.size = size
        self.count = count
        self.pageKind = pageKind
        source = try SharedMapping(bytes: size * count, pageKind: pageKind)
        destination = try SharedMapping(bytes: size * count, pageKind: pageKind)
        source.base.initializeMemory(as: UInt8.self, repeating: 0x3C, count: size * count)
        destination.base.initializeMemory(as: UInt8.self, repeating: 0, count: size * count)
    }

    /// GB/s of one pass on one thread.
    func oneThread() -> Double {
        rate { copy(0..<count) }
    }

    /// GB/s of one pass split across every CPU, on OS threads as mtcopy's workers are.
    func allThreads() throws -> Double {
        var refused: Errno?
        let gigabytes = rate {
            let group = DispatchGroup()
            for part in 0..<threads where refused == nil {
                group.enter()
                do throws(Errno) {
                    try OSThread.spawn(name: "memcpy-\(part)") { [self] in
                        copy((count * part / threads)..<(count * (part + 1) / threads))
                        group.leave()
                    }
                } catch {
                    refused = error
                    group.leave()
                }
            }
            group.wait()
        }
        if let refused { throw refused }
        return gigabytes
    }

    private func copy(_ folios: Range<Int>) {
        for folio in folios { memcpy(destination.base + folio * size, source.base + folio * size, size) }
    }

    private func rate(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(size * count) / Double(max(DispatchTime.now().uptimeNanoseconds - start, 1))
    }
}

/// A memfd mapped shared, as a tier's arena is, of the same page kind.
final class SharedMapping: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let bytes: Int
    private let fd: FileDescriptor

    init(bytes: Int, pageKind: HugePageMode) throws {
        // hugetlb mappings are whole huge pages.
        self.bytes = pageKind == .hugetlb ? (bytes + (2 << 20) - 1) / (2 << 20) * (2 << 20) : bytes
        fd = try SharedMemory.memfd(name: "foliobench", hugetlb: pageKind == .hugetlb)
        try SharedMemory.resize(fd, to: self.bytes)
        base = try SharedMemory.mapShared(fd, length: self.bytes)
        if pageKind == .thp { try MemorySystem.adviseHugePages(base, length: self.bytes) }
    }

    deinit {
        SharedMemory.unmap(base, length: bytes)
        try? fd.close()
    }
}
