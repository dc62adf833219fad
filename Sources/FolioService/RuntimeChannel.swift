import FolioMemory
import FolioProtocol
import SystemCalls
import Synchronization
import SystemPackage

/// The daemon's end of a program's runtime channel (PROTOCOL.md §10). A batch's thread sends
/// a call and waits for the answer, which the channel's session thread receives and hands over
/// here. A call not answered in time makes the runtime unresponsive until it answers anything,
/// and for at least a back-off that doubles with each miss (1 s to 64 s), so a runtime that
/// always answers late costs the policy one timeout per back-off, not one per batch. A remap
/// not answered in time, or an answer that breaks the protocol, ends the channel.
final class RuntimeChannel: ProgramRuntime, @unchecked Sendable {
    private let socket: SeqpacketSocket
    private let timeout: @Sendable () -> Duration
    private let condition = Condition()
    // Guarded by `condition`'s lock.
    private var nextCallID: UInt32 = 1
    private var awaited: UInt32 = 0  // the call a batch waits for; 0 for none
    private var answer: RuntimeAnswer?
    private var answering = true
    private var closed = false
    private var quietUntil = ContinuousClock.now
    private var backOff = RuntimeChannel.firstBackOff

    static let firstBackOff = Duration.seconds(1)
    static let lastBackOff = Duration.seconds(64)

    init(socket: SeqpacketSocket, timeout: @escaping @Sendable () -> Duration) {
        self.socket = socket
        self.timeout = timeout
    }

    var isResponsive: Bool { locked { answering && !closed && ContinuousClock.now >= quietUntil } }

    func revoke(_ handles: [Int]) -> Bool {
        switch call(.revoke(handles: handles.map(UInt32.init))) {
        case .revoked?: return true
        case nil: return false
        case .remapped?:
            end()
            return false
        }
    }

    /// Statuses other than 0 and a negative errno break the protocol: the runtime may have
    /// mapped the destination, so they count as no answer.
    func remap(_ folios: [(handle: Int, location: UInt64)]) -> [Int32]? {
        let call = RuntimeCall.remap(folios: folios.map { RuntimeCall.RemappedFolio(handle: UInt32($0.handle), location: $0.location) })
        guard case .remapped(let status)? = self.call(call), status.count == folios.count,
              status.allSatisfy({ $0 == 0 || (-4095 ... -1).contains($0) }) else {
            end()
            return nil
        }
        return status
    }

    /// A restore that cannot be queued would leave the program's writers waiting for ever:
    /// the channel ends instead, and the runtime gives every write back when it sees that.
    func restore(_ handles: [Int]) {
        let id = locked { () -> UInt32 in takeCallID() }
        if !send(RuntimeCall.restore(handles: handles.map(UInt32.init)).encode(callID: id)) { end() }
    }

    /// One message from the runtime, on the session's thread: an answer wakes the batch that
    /// waits for it (a late one is dropped); anything else ends the channel.
    func received(_ bytes: [UInt8]) {
        guard let (callID, answer) = try? RuntimeAnswer.decode(bytes) else { return end() }
        locked {
            answering = true
            guard callID == awaited else { return }
            self.answer = answer
            backOff = Self.firstBackOff
            condition.signal()
        }
    }

    /// Ends the channel: waiting batches wake, the session's thread sees the socket close.
    func end() {
        locked {
            closed = true
            condition.broadcast()
        }
        socket.shutdown()
    }

    /// Sends `call` and waits up to the timeout for its answer: nil if none came, or the
    /// channel ended.
    private func call(_ call: RuntimeCall) -> RuntimeAnswer? {
        guard let id = locked({ () -> UInt32? in
            guard !closed else { return nil }
            awaited = takeCallID()
            answer = nil
            return awaited
        }) else { return nil }
        let sent = send(call.encode(callID: id))
        return locked {
            defer {
                awaited = 0
                answer = nil
            }
            if sent {
                let deadline = Condition.deadline(after: timeout())
                while answer == nil && !closed && condition.wait(until: deadline) {}
            }
            if answer == nil {
                answering = false
                quietUntil = ContinuousClock.now + backOff
                backOff = min(backOff * 2, Self.lastBackOff)
            }
            return answer
        }
    }

    private func takeCallID() -> UInt32 {
        defer { nextCallID = nextCallID == .max ? 1 : nextCallID + 1 }
        return nextCallID
    }

    /// A call, never blocking: a runtime whose queue is full is not answering.
    private func send(_ bytes: [UInt8]) -> Bool {
        sendLock.withLock { _ in (try? socket.send(bytes, wait: false)) != nil }
    }

    // Calls come from one batch at a time (the space's lock), restores from the same batch;
    // the lock keeps them off the socket's one send buffer together all the same.
    private let sendLock = Mutex<Void>(())

    private func locked<R>(_ body: () -> R) -> R {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }
}
