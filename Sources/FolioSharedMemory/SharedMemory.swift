import CLinux
import Glibc
import SystemCalls
import SystemPackage

/// The memory calls both sides of the shared-memory protocol make (memfds, shared mappings,
/// the futex of a folio's sequence word), each wrapped once over `Posix.call`. The only file
/// here that imports Glibc.
public enum SharedMemory {
    /// `memfd_create(name, MFD_CLOEXEC [| MFD_HUGETLB])`.
    public static func memfd(name: String, hugetlb: Bool) throws(SystemCallError) -> FileDescriptor {
        let flags = clinux_mfd_cloexec | (hugetlb ? clinux_mfd_hugetlb : 0)
        return FileDescriptor(rawValue: try Posix.call("memfd_create") { clinux_memfd_create(name, flags) })
    }

    /// A new memfd of `bytes` (sparse until touched).
    public static func anonymousFile(name: String, bytes: Int) throws(SystemCallError) -> FileDescriptor {
        let fd = try memfd(name: name, hugetlb: false)
        do { try resize(fd, to: bytes) } catch {
            try? fd.close()
            throw error
        }
        return fd
    }

    /// `ftruncate(fd, size)`.
    public static func resize(_ fd: FileDescriptor, to size: Int) throws(SystemCallError) {
        try Posix.call("ftruncate") { ftruncate(fd.rawValue, off_t(size)) }
    }

    /// `fstat(fd).st_size`.
    public static func size(of fd: FileDescriptor) throws(SystemCallError) -> Int {
        var info = Glibc.stat()
        try Posix.call("fstat") { fstat(fd.rawValue, &info) }
        return Int(info.st_size)
    }

    /// `mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED [| MAP_POPULATE], fd, 0)`.
    public static func mapShared(_ fd: FileDescriptor, length: Int, populate: Bool = false) throws(SystemCallError) -> UnsafeMutableRawPointer {
        let flags = MAP_SHARED | (populate ? MAP_POPULATE : 0)
        var mapped: UnsafeMutableRawPointer?
        try Posix.call("mmap") {
            let address = mmap(nil, length, PROT_READ | PROT_WRITE, flags, fd.rawValue, 0)
            guard address != MAP_FAILED, let address else { return -1 }
            mapped = address
            return 0
        }
        // A successful mmap never returns NULL for a NULL hint.
        return mapped!
    }

    /// `munmap`; failure means the arguments were wrong, a bug.
    public static func unmap(_ address: UnsafeMutableRawPointer, length: Int) {
        let result = munmap(address, length)
        precondition(result == 0, "munmap(\(address), \(length)) failed: errno \(Glibc.errno)")
    }

    /// Waits while `*word == expected` (a shared futex), at most `timeoutNanos`.
    public static func futexWait(_ word: UnsafeMutablePointer<UInt32>, expected: UInt32, timeoutNanos: Int) {
        var timeout = timespec(tv_sec: timeoutNanos / 1_000_000_000, tv_nsec: timeoutNanos % 1_000_000_000)
        // EAGAIN (the word moved), ETIMEDOUT and EINTR all mean "look again".
        _ = clinux_futex_wait(word, expected, &timeout)
    }

    /// Wakes every waiter on `word`.
    public static func futexWakeAll(_ word: UnsafeMutablePointer<UInt32>) {
        _ = clinux_futex_wake(word, Int32.max)
    }
}
