import FolioMemory
import Dispatch
import SystemCalls
import FoundationEssentials
import Glibc
import SystemPackage

/// The machine's own ceiling for a cell: the same bytes copied with plain `memcpy`, folio by
/// folio, between two memfd-backed shared mappings like the tiers', on one thread and on all.
struct MemcpyCeiling {
    let oneThreadGBps: Double
    let allThreadsGBps: Double

    /// Measures `count` copies of `size` bytes, best of `reps` after a warm-up.
    static func measure(size: Int, count: Int, reps: Int) throws -> MemcpyCeiling {
        let bytes = size * count
        let source = try SharedMapping(bytes: bytes)
        let destination = try SharedMapping(bytes: bytes)
        source.base.initializeMemory(as: UInt8.self, repeating: 0x3C, count: bytes)
        destination.base.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let copy: @Sendable (Range<Int>) -> Void = { folios in
            for folio in folios { memcpy(destination.base + folio * size, source.base + folio * size, size) }
        }
        let one = best(of: reps) { copy(0..<count) }
        let all = best(of: reps) {
            // OS threads, as mtcopy's workers are.
            let group = DispatchGroup()
            for part in 0..<threads {
                group.enter()
                OSThread.spawn(name: "memcpy-\(part)") {
                    copy((count * part / threads)..<(count * (part + 1) / threads))
                    group.leave()
                }
            }
            group.wait()
        }
        return MemcpyCeiling(oneThreadGBps: Double(bytes) / one, allThreadsGBps: Double(bytes) / all)
    }

    /// The fastest of `reps` runs, in nanoseconds.
    private static func best(of reps: Int, _ body: () -> Void) -> Double {
        body()
        return (0..<reps).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start)
        }.min() ?? 1
    }
}

/// A memfd mapped shared, as a tier's arena is.
final class SharedMapping: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let bytes: Int
    private let fd: FileDescriptor

    init(bytes: Int) throws {
        self.bytes = bytes
        fd = try MemorySystem.anonymousFile(name: "folioctl-bench", bytes: bytes)
        base = try MemorySystem.mapShared(fd, length: bytes)
    }

    deinit {
        MemorySystem.unmap(base, length: bytes)
        try? fd.close()
    }
}
