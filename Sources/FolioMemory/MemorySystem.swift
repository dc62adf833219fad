import CLinux
import FolioSharedMemory
import Glibc
import SystemCalls
import SystemPackage

/// The daemon's memory calls swift-system lacks (huge pages, NUMA binding, fault counts),
/// each wrapped once over `Posix.call`; what clients need too is `SharedMemory`. The only file
/// here that imports Glibc.
public enum MemorySystem {
    /// `madvise(MADV_POPULATE_WRITE)` (Linux 5.14): faults the range in writable, in one call,
    /// so a copy into it later takes no page fault. False if the kernel cannot.
    @discardableResult
    public static func populateWrite(_ address: UnsafeMutableRawPointer, length: Int) -> Bool {
        // MADV_POPULATE_WRITE; Glibc's headers here predate it.
        madvise(address, length, 23) == 0
    }

    /// Page faults the calling thread has taken so far, minor and major
    /// (`getrusage(RUSAGE_THREAD)`).
    public static func threadPageFaults() -> Int {
        var usage = rusage()
        // RUSAGE_THREAD, which Glibc's headers declare only under _GNU_SOURCE.
        guard getrusage(__rusage_who_t(1), &usage) == 0 else { return 0 }
        return usage.ru_minflt + usage.ru_majflt
    }

    /// `madvise(MADV_HUGEPAGE)` for a shmem mapping.
    public static func adviseHugePages(_ address: UnsafeMutableRawPointer, length: Int) throws(SystemCallError) {
        try Posix.call("madvise") { madvise(address, length, MADV_HUGEPAGE) }
    }

    /// `mbind(MPOL_BIND)` of a mapping to one NUMA node.
    static func bind(_ address: UnsafeMutableRawPointer, length: Int, node: Int) throws(SystemCallError) {
        try Posix.call("mbind") { clinux_mbind_node(address, UInt(length), Int32(node)) }
    }
}
