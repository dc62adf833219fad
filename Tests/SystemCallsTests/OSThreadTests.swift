import Dispatch
import Glibc
import Synchronization
import Testing
@testable import SystemCalls

/// `OSThread.spawn`: a body on a thread of its own, with the name it was given.
struct OSThreadTests {
    /// Runs `body` on an `OSThread` and waits (at most 30 s) for what it returns.
    static func onThread<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) throws -> T? {
        let result = Mutex<T?>(nil)
        let finished = DispatchSemaphore(value: 0)
        try OSThread.spawn(name: name) {
            let value = body()
            result.withLock { $0 = value }
            finished.signal()
        }
        guard finished.wait(timeout: .now() + 30) == .success else { return nil }
        return result.withLock { $0 }
    }

    /// The calling thread's name, as the kernel keeps it (`/proc/thread-self/comm`).
    static func currentThreadName() -> String {
        let fd = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "?" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return "?" }
        return String(decoding: buffer.prefix(count).filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    @Test func spawn_runsTheBodyOnAnotherThread() throws {
        let caller = pthread_self()
        let other = try Self.onThread(name: "foliod-test") { pthread_equal(pthread_self(), caller) == 0 }
        #expect(other == true)
    }

    @Test func spawn_runsEveryBodyOnce() throws {
        let runs = Mutex(0)
        let finished = DispatchSemaphore(value: 0)
        for index in 0..<16 {
            try OSThread.spawn(name: "foliod-test-\(index)") {
                runs.withLock { $0 += 1 }
                finished.signal()
            }
        }
        for _ in 0..<16 { #expect(finished.wait(timeout: .now() + 30) == .success) }
        #expect(runs.withLock { $0 } == 16)
    }

    /// Linux keeps 15 bytes of a thread's name; a longer one is cut, not refused.
    @Test(arguments: [
        ("foliod-copy", "foliod-copy"), ("x", "x"), ("exactly-15-char", "exactly-15-char"),
        ("foliod-dma-channel-12", "foliod-dma-chan"),
    ])
    func spawn_namesTheThread(name: String, expected: String) throws {
        #expect(try Self.onThread(name: name) { Self.currentThreadName() } == expected)
    }

    @Test func trySpawn_isTrueAndRunsTheBody() {
        let finished = DispatchSemaphore(value: 0)
        #expect(OSThread.trySpawn(name: "foliod-try") { finished.signal() })
        #expect(finished.wait(timeout: .now() + 30) == .success)
    }

    @Test(arguments: [Duration.milliseconds(30), .milliseconds(5) + .nanoseconds(999_999)])
    func sleep_sleepsAtLeastTheDuration(duration: Duration) {
        let start = ContinuousClock.now
        OSThread.sleep(duration)
        #expect(ContinuousClock.now - start >= duration)
    }
}
