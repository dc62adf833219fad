import Foundation
import Testing
@testable import SysfsFUSE

/// System-call level behaviour of a mounted tree: offsets, snapshots, long writes, poll, and
/// what mounting refuses.
@Suite(.serialized)
struct KnobMountFileTests {
    func open(_ knobs: MountedTestTree, _ name: String, _ flags: Int32) throws -> Int32 {
        let fd = Glibc.open(knobs.mountpoint + "/" + name, flags)
        try #require(fd >= 0, "open \(name): errno \(errno)")
        return fd
    }

    func pread(_ fd: Int32, at offset: Int) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        return String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
    }

    func write(_ fd: Int32, _ text: String) -> Int {
        Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    @Test func laterOffsets_readTheSnapshotAndOffsetZeroShowsAgain() throws {
        let knobs = try MountedTestTree()
        _ = try knobs.run("echo 12345 > value")
        let fd = try open(knobs, "value", O_RDONLY)
        defer { close(fd) }
        #expect(pread(fd, at: 0) == "12345\n")
        _ = try knobs.run("echo 7 > value")
        #expect(pread(fd, at: 2) == "345\n")
        #expect(pread(fd, at: 0) == "7\n")
        #expect(pread(fd, at: 10) == "")
    }

    @Test func write_ofMoreThanAPage_isAShortWriteOfOnePage() throws {
        let knobs = try MountedTestTree()
        let fd = try open(knobs, "value", O_WRONLY)
        defer { close(fd) }
        let written = write(fd, "1" + String(repeating: "\0", count: 4999))
        #expect(written == 4096)
        #expect(knobs.storedValues == ["1"])
    }

    @Test func write_returnsTheErrnoOfTheStore() throws {
        let knobs = try MountedTestTree()
        let fd = try open(knobs, "value", O_WRONLY)
        defer { close(fd) }
        #expect(write(fd, "-1") == -1 && errno == EINVAL)
        #expect(write(fd, "99999999999") == -1 && errno == ERANGE)
        #expect(write(fd, "8") == 1)
        #expect(knobs.currentValue == 8)
    }

    @Test func open_forWritingAReadOnlyKnob_failsWithEACCES() throws {
        let knobs = try MountedTestTree()
        for flags in [O_WRONLY, O_RDWR, O_WRONLY | O_TRUNC] {
            #expect(Glibc.open(knobs.mountpoint + "/engine", flags) == -1 && errno == EACCES)
        }
    }

    @Test func poll_reportsPriAndErrOnlyAfterTheValueChanges() throws {
        let knobs = try MountedTestTree()
        let fd = try open(knobs, "sub/flag", O_RDONLY)
        defer { close(fd) }
        #expect(pread(fd, at: 0) == "0\n")
        var watch = pollfd(fd: fd, events: Int16(POLLPRI), revents: 0)
        #expect(poll(&watch, 1, 200) == 0)
        // The change comes from another process while this thread blocks in poll.
        let writer = Thread {
            usleep(100_000)
            _ = try? knobs.run("echo 1 > sub/flag")
        }
        writer.start()
        #expect(poll(&watch, 1, 5000) == 1)
        #expect(Int32(watch.revents) & (POLLPRI | POLLERR) == POLLPRI | POLLERR)
        #expect(pread(fd, at: 0) == "1\n")
        // Once read, the change is seen: the next poll blocks again.
        watch.revents = 0
        #expect(poll(&watch, 1, 200) == 0)
        // A write that leaves the value as it was is no change.
        _ = try knobs.run("echo 1 > sub/flag")
        #expect(poll(&watch, 1, 200) == 0)
    }

    @Test func mount_onAMissingDirectory_failsNamingIt() throws {
        try MountedTestTree.requireMountable()
        #expect {
            try KnobMount(tree: .init(), at: "/tmp/foliod-no-such-dir-\(UUID().uuidString)")
        } throws: { "\($0)".contains("does not exist") }
    }

    @Test func mount_onANonEmptyDirectory_failsNamingIt() throws {
        try MountedTestTree.requireMountable()
        let directory = "/tmp/foliod-nonempty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/file", contents: Data())
        #expect {
            try KnobMount(tree: .init(), at: directory)
        } throws: { "\($0)".contains("is not empty") }
    }

    @Test func unmount_removesTheMount() throws {
        let knobs = try MountedTestTree()
        #expect(knobs.mount.unmount())
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        #expect(!mounts.contains(knobs.mountpoint))
    }
}
