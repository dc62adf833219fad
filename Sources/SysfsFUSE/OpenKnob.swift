import CFuse
import Synchronization
import Sysfs

/// One open file of a knob: the `kernfs_open_file` analogue.
///
/// Locking: `state` guards the snapshot, the event last seen and the pending poll handle;
/// FUSE may call into one open file from several threads at once.
final class OpenKnob: Sendable {
    private struct State {
        var snapshot: [UInt8]?
        var seenEvent: UInt64
        var pollHandle: PollHandle?
    }

    let attribute: SysfsAttribute
    /// The knob's path in the tree, for the change log.
    let path: String
    private let state: Mutex<State>

    init(_ attribute: SysfsAttribute, path: String) {
        self.attribute = attribute
        self.path = path
        state = Mutex(State(snapshot: nil, seenEvent: attribute.event, pollHandle: nil))
    }

    /// A read at `offset`: offset 0 runs `show` again; later offsets read the same snapshot.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        state.withLock { state in
            if offset == 0 || state.snapshot == nil {
                // Read the event before `show`, so a change racing with it is seen by poll.
                state.seenEvent = attribute.event
                state.snapshot = attribute.show()
            }
            let snapshot = state.snapshot ?? []
            guard offset < snapshot.count else { return 0 }
            let count = min(buffer.count, snapshot.count - offset)
            snapshot.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + count])) }
            return count
        }
    }

    /// Whether the value changed since this file last read it (or was opened).
    var hasUnseenChange: Bool {
        state.withLock { $0.seenEvent != attribute.event }
    }

    /// Keeps `handle` until the next change; a handle it replaces is released.
    func armPoll(_ handle: PollHandle) {
        let replaced = state.withLock { state in
            defer { state.pollHandle = handle }
            return state.pollHandle
        }
        replaced?.destroy()
    }

    /// Tells the kernel to poll this file again, if a poller is waiting on it.
    func wakePoller() {
        guard let handle = takePollHandle() else { return }
        handle.notify()
        handle.destroy()
    }

    /// Drops a pending poll handle when the file is released.
    func close() {
        takePollHandle()?.destroy()
    }

    private func takePollHandle() -> PollHandle? {
        state.withLock { state in
            defer { state.pollHandle = nil }
            return state.pollHandle
        }
    }
}

/// A `struct fuse_pollhandle *`: owned by whoever holds it, used once, then destroyed.
struct PollHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Makes the kernel poll the file again.
    func notify() { _ = fuse_lowlevel_notify_poll(pointer) }

    func destroy() { fuse_pollhandle_destroy(pointer) }
}
