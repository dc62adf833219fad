import FolioSharedMemory
import FolioProtocol
import SystemCalls
import Synchronization
import SystemPackage

/// A connection to foliod with its address space mapped: allocate folios, reach their bytes
/// under a pin, migrate them, free them.
///
/// Thread safety: any thread may call anything. Requests are serialized (one socket, one
/// request in flight: a second caller waits for the first reply); pins take no lock and run
/// concurrently from any number of threads.
///
/// `@unchecked Sendable` because the mapped pointers are not `Sendable`: they are set once in
/// `init`, and the memory behind them is shared with the daemon and touched only through the
/// pin protocol's atomics (DESIGN.md, "The pin protocol"). The one mutable field, the request
/// counter, lives in `requests` with the socket's turn.
public final class FolioClient: @unchecked Sendable {
    /// The daemon's tiers, in its order; a folio's tier is an index into this.
    public let tiers: [TierInfo]
    /// The space's number in the daemon.
    public let spaceID: UInt32
    private let socket: SeqpacketSocket
    // The next request id; holding it is holding the socket's turn.
    private let requests = Mutex<UInt32>(1)
    private let table: UnsafeMutableRawPointer
    // This attachment's pin counters: the daemon counts them while the connection is open and
    // drops them when it closes, so a client killed while pinning leaves no pin behind.
    private let pins: PinTable
    private let tierBases: [UnsafeMutableRawPointer]

    /// Connects to `socketPath` and attaches to the space `space` (nil: a new anonymous one).
    /// Whatever is at the socket path is checked as libfolio checks it: a reply of the wrong
    /// shape, a tier size past what can be mapped, or a memfd shorter than the reply says is
    /// EBADMSG (a short memfd would be SIGBUS at the first touch), and nothing stays mapped.
    public convenience init(socketPath: String, space: String? = nil) throws(FolioClientError) {
        try self.init(socketPath: socketPath, spaceBytes: space.map { Array($0.utf8) } ?? [])
    }

    /// Attaches to the space named by `spaceBytes` exactly as given (empty: a new anonymous
    /// one): a name that is not valid UTF-8 reaches the daemon as it is and is refused there.
    public init(socketPath: String, spaceBytes: [UInt8]) throws(FolioClientError) {
        guard spaceBytes.count <= Int(UInt16.max) else { throw FolioClientError(errno: .invalidArgument, message: "attach: a space name over 65,535 bytes") }
        let (socket, reply, fds) = try Self.attach(socketPath, spaceBytes)
        self.socket = socket
        defer { fds.forEach { try? FileDescriptor(rawValue: $0).close() } }
        // The table, the pin table, then one memfd per tier.
        guard case .attached(let spaceID, let tiers) = reply, fds.count == tiers.count + 2 else {
            throw FolioClientError(errno: .badMessage, message: "attach: unexpected reply")
        }
        let lengths = [FolioTableLayout.tableBytes, PinTable.tableBytes] + tiers.map { Int(exactly: $0.sizeBytes) ?? -1 }
        for (fd, length) in zip(fds, lengths) {
            guard length > 0, let size = try? SharedMemory.size(of: FileDescriptor(rawValue: fd)), size >= length else {
                throw FolioClientError(errno: .badMessage, message: "attach: a descriptor is smaller than the reply says")
            }
        }
        self.spaceID = spaceID
        self.tiers = tiers
        // The folio table and the tiers, then the pin table; on a failure nothing stays mapped.
        var mapped: [(base: UnsafeMutableRawPointer, length: Int)] = []
        do {
            for index in [0] + Array(2..<fds.count) {
                let base = try SharedMemory.mapShared(FileDescriptor(rawValue: fds[index]), length: lengths[index])
                mapped.append((base, lengths[index]))
            }
            pins = try PinTable.mapped(FileDescriptor(rawValue: fds[1]))
        } catch {
            for region in mapped { SharedMemory.unmap(region.base, length: region.length) }
            throw FolioClientError(errno: error.errno, message: error.call)
        }
        table = mapped[0].base
        tierBases = mapped.dropFirst().map(\.base)
    }

    /// How long a connection refused because the daemon is stopping (ESHUTDOWN) is retried:
    /// under a service manager the socket outlives the daemon, and its next instance answers
    /// within a restart's time.
    static let restartWait = Duration.seconds(5)

    /// Connects and attaches; ESHUTDOWN (a daemon that took the connection as it stopped) is
    /// retried on a new connection until `restartWait` has passed.
    private static func attach(_ socketPath: String, _ name: [UInt8]) throws(FolioClientError) -> (SeqpacketSocket, Reply, [Int32]) {
        let deadline = ContinuousClock.now + restartWait
        while true {
            let socket: SeqpacketSocket
            do { socket = try SeqpacketSocket.connect(path: socketPath) } catch { throw FolioClientError(error) }
            do {
                let (reply, fds) = try attach(on: socket, name)
                return (socket, reply, fds)
            } catch where error.errno == .socketShutdown && ContinuousClock.now < deadline {
                socket.close()
                OSThread.sleep(.milliseconds(20))
            }
        }
    }

    /// The attach with this client's features; a daemon from before them refuses the feature
    /// word as a malformed request (EBADMSG, and the connection stays open): then the attach
    /// without it, whose pins that daemon counts as it always did.
    private static func attach(on socket: SeqpacketSocket, _ name: [UInt8]) throws(FolioClientError) -> (Reply, [Int32]) {
        do {
            return try roundTrip(socket, Request.attachMessage(nameBytes: name, features: .marksWrites, requestID: 0), requestID: 0)
        } catch where error.errno == .badMessage && error.isDaemonsAnswer {
            return try roundTrip(socket, Request.attachMessage(nameBytes: name, requestID: 0), requestID: 0)
        }
    }

    deinit {
        SharedMemory.unmap(table, length: FolioTableLayout.tableBytes)
        for (base, tier) in zip(tierBases, tiers) { SharedMemory.unmap(base, length: Int(tier.sizeBytes)) }
    }

    /// The index of the tier called `name`; ENOENT if there is none.
    public func tier(named name: String) throws(FolioClientError) -> Int {
        guard let index = tiers.firstIndex(where: { $0.name == name }) else {
            throw FolioClientError(errno: .noSuchFileOrDirectory, message: "no tier '\(name)' (tiers: \(tiers.map(\.name).joined(separator: ", ")))")
        }
        return index
    }

    /// `count` folios of `4 KiB << order` in `tier`, all or none.
    public func allocate(tier: Int, order: Int = 0, count: Int) throws(FolioClientError) -> [FolioHandle] {
        guard let tier = UInt16(exactly: tier), let order = UInt8(exactly: order), let count = UInt32(exactly: count) else {
            throw FolioClientError(errno: .invalidArgument, message: "allocate: argument out of range")
        }
        guard case .allocated(let handles) = try request(.allocate(tier: tier, order: order, count: count)),
              handles.count == Int(count), handles.allSatisfy({ $0 < FolioTableLayout.capacity }) else { throw unexpected("allocate") }
        return handles.map(FolioHandle.init(rawValue:))
    }

    /// `count` folios in the tier called `tier`.
    public func allocate(tier: String, order: Int = 0, count: Int) throws(FolioClientError) -> [FolioHandle] {
        try allocate(tier: self.tier(named: tier), order: order, count: count)
    }

    /// Frees `handles`; per handle nil (freed) or why not (ENOENT, EBUSY).
    public func free(_ handles: [FolioHandle]) throws(FolioClientError) -> [Errno?] {
        guard case .freed(let status) = try request(.free(handles: try wire(handles))), status.count == handles.count else { throw unexpected("free") }
        return status
    }

    /// Moves `handles` to `tier` for `reason`; a result per handle.
    public func migrate(_ handles: [FolioHandle], to tier: Int, reason: MigrationReason = .syscall) throws(FolioClientError) -> MigrationOutcome {
        guard let tier = UInt16(exactly: tier) else {
            throw FolioClientError(errno: .invalidArgument, message: "migrate: no tier \(tier)")
        }
        let request = Request.migrate(handles: try wire(handles), targetTier: tier, reason: reason)
        // The codec checked each status word; the tiers are this client's to check.
        guard case .migrated(let outcome) = try self.request(request), outcome.results.count == handles.count,
              outcome.results.allSatisfy({ $0.tier.map { $0 < tiers.count } ?? true }) else { throw unexpected("migrate") }
        return outcome
    }

    /// Moves `handles` to the tier called `tier`.
    public func migrate(_ handles: [FolioHandle], to tier: String, reason: MigrationReason = .syscall) throws(FolioClientError) -> MigrationOutcome {
        try migrate(handles, to: self.tier(named: tier), reason: reason)
    }

    /// The daemon's counters.
    public func stats() throws(FolioClientError) -> FolioStats {
        try Self.stats(from: request(.stats))
    }

    /// The counters of the daemon at `socketPath`, read without attaching to any space.
    public static func stats(socketPath: String) throws(FolioClientError) -> FolioStats {
        let socket: SeqpacketSocket
        do { socket = try SeqpacketSocket.connect(path: socketPath) } catch { throw FolioClientError(error) }
        return try stats(from: request(.stats, on: socket, requestID: 1))
    }

    private static func stats(from reply: Reply) throws(FolioClientError) -> FolioStats {
        guard case .stats(let stats) = reply else { throw FolioClientError(errno: .badMessage, message: "stats: unexpected reply") }
        return stats
    }

    /// Destroys the attached space in the daemon; this client can make no request after it.
    public func destroy() throws(FolioClientError) {
        guard case .destroyed = try request(.destroy) else { throw unexpected("destroy") }
    }

    /// Runs `body` with `handle`'s bytes write-pinned: the folio cannot move while `body` runs,
    /// and a transactional copy that overlaps it is discarded. The pin counts one access, the
    /// heat the daemon's tiering policy ranks folios by. ENOENT if the handle names no folio;
    /// ENOTCONN if the daemon died while the folio was migrating (`withSalvagedFolio` reads it
    /// then); EOVERFLOW past 65,535 pins of this kind held on one folio.
    @discardableResult
    public func withPinnedFolio<R>(_ handle: FolioHandle, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        try withPin(handle, for: .write, body)
    }

    /// Runs `body` with `handle`'s bytes read-pinned: a migration may copy the folio meanwhile
    /// (its bytes stay where they are until `body` returns), so a reader never waits for a
    /// copy, at most for a commit. `body` must not write. Errors as `withPinnedFolio`.
    @discardableResult
    public func withReadPinnedFolio<R>(_ handle: FolioHandle, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withPin(handle, for: .read) { try body(UnsafeRawBufferPointer($0)) }
    }

    private func withPin<R>(_ handle: FolioHandle, for access: PinAccess, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        let entry = try entry(handle)
        // Asked only while the folio stays frozen past a wait slice: no syscall on the fast path.
        switch PinProtocol.pin(entry, in: pins, for: access, keepWaiting: { !socket.peerHungUp() }) {
        case .pinned: break
        case .daemonGone: throw FolioClientError(errno: .socketNotConnected, message: "handle \(handle): the daemon is gone while the folio was migrating")
        case .tooManyPins: throw FolioClientError(errno: .overflow, message: "handle \(handle): 65,535 pins of one kind held already")
        }
        defer { PinProtocol.unpin(entry, in: pins, for: access) }
        return try body(try bytes(of: entry, handle: handle))
    }

    /// For a client whose daemon died: runs `body` on the bytes the table points at, whatever
    /// the folio's migration state says. The daemon repoints a folio in one store and only
    /// after its copy is complete, so this is the folio's data even if the daemon was killed
    /// mid-batch. Not for use while a daemon can still move folios.
    @discardableResult
    public func withSalvagedFolio<R>(_ handle: FolioHandle, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        let entry = try entry(handle)
        return try body(try bytes(of: entry, handle: handle))
    }

    private func entry(_ handle: FolioHandle) throws(FolioClientError) -> FolioEntry {
        guard handle.index < FolioTableLayout.capacity else { throw FolioClientError(errno: .noSuchFileOrDirectory, message: "handle \(handle)") }
        return FolioEntry(table: table, handle: handle.index)
    }

    private func bytes(of entry: FolioEntry, handle: FolioHandle) throws(FolioClientError) -> UnsafeMutableRawBufferPointer {
        let (tier, offset) = entry.placement
        let size = FolioTableLayout.bytes(order: entry.order)
        guard entry.isAllocated, tierBases.indices.contains(tier), offset + size <= Int(tiers[tier].sizeBytes) else {
            throw FolioClientError(errno: .noSuchFileOrDirectory, message: "handle \(handle)")
        }
        return UnsafeMutableRawBufferPointer(start: tierBases[tier] + offset, count: size)
    }

    /// Every handle that names a folio now, from the shared table.
    public var allocatedHandles: [FolioHandle] {
        (0..<FolioTableLayout.capacity).compactMap { index in
            FolioEntry(table: table, handle: index).isAllocated ? FolioHandle(rawValue: UInt32(index)) : nil
        }
    }

    /// Whether `handle`'s folio is in the middle of a migration (its sequence word is odd).
    public func isMigrating(_ handle: FolioHandle) -> Bool {
        guard let entry = try? entry(handle) else { return false }
        return entry.seq.load(ordering: .acquiring) & 1 == 1
    }

    /// The tier `handle` is in now, from the shared table (nil for no folio).
    public func tier(of handle: FolioHandle) -> Int? {
        guard handle.index < FolioTableLayout.capacity else { return nil }
        let entry = FolioEntry(table: table, handle: handle.index)
        return entry.isAllocated ? entry.tier : nil
    }

    private func request(_ request: Request) throws(FolioClientError) -> Reply {
        try requests.withLock { (id: inout UInt32) throws(FolioClientError) -> Reply in
            defer { id &+= 1 }
            return try Self.request(request, on: socket, requestID: id)
        }
    }

    /// One request whose reply carries no fds (any that come are closed).
    private static func request(_ request: Request, on socket: SeqpacketSocket, requestID: UInt32) throws(FolioClientError) -> Reply {
        let (reply, fds) = try roundTrip(socket, request.encode(requestID: requestID), requestID: requestID)
        fds.forEach { try? FileDescriptor(rawValue: $0).close() }
        return reply
    }

    private static func roundTrip(_ socket: SeqpacketSocket, _ request: [UInt8], requestID: UInt32) throws(FolioClientError) -> (Reply, [Int32]) {
        let message: (bytes: [UInt8], fds: [Int32])
        do {
            try socket.send(request)
            guard let received = try socket.receive() else { throw FolioClientError(errno: .connectionReset, message: "the daemon closed the connection") }
            message = received
        } catch let error as SystemCallError {
            // A refusing daemon answers at once and closes, perhaps before this request
            // arrived: its answer is still queued here.
            throw refusal(on: socket) ?? FolioClientError(error)
        } catch let error as FolioClientError {
            throw refusal(on: socket) ?? error
        } catch {
            throw FolioClientError(errno: .ioError, message: "\(error)")
        }
        let decoded: (id: UInt32, reply: Reply)
        do { decoded = try decode(message.bytes, answering: requestID) } catch {
            message.fds.forEach { try? FileDescriptor(rawValue: $0).close() }
            throw error
        }
        if case .error(let code, let text) = decoded.reply {
            message.fds.forEach { try? FileDescriptor(rawValue: $0).close() }
            var answer = FolioClientError(errno: Errno(rawValue: code), message: text)
            answer.isDaemonsAnswer = true
            throw answer
        }
        return (decoded.reply, message.fds)
    }



    /// The error a daemon queued before it closed the connection, if it did. A close with
    /// this request unread reports ECONNRESET once before the queued message.
    private static func refusal(on socket: SeqpacketSocket) -> FolioClientError? {
        for _ in 0..<2 {
            let message: (bytes: [UInt8], fds: [Int32])?
            do { message = try socket.receive(wait: false) } catch { continue }
            guard let message else { return nil }
            message.fds.forEach { try? FileDescriptor(rawValue: $0).close() }
            guard case .error(let code, let text)? = try? Reply.decode(message.bytes).reply else { return nil }
            return FolioClientError(errno: Errno(rawValue: code), message: text)
        }
        return nil
    }

    /// Decodes the reply to request `requestID`, as libfolio checks it (the codec refuses an
    /// error's errno no kernel gives): the id must be the request's, or 0 on an error (the
    /// daemon could not read the id, or refused the connection).
    private static func decode(_ bytes: [UInt8], answering requestID: UInt32) throws(FolioClientError) -> (id: UInt32, reply: Reply) {
        let decoded: (requestID: UInt32, reply: Reply)
        do { decoded = try Reply.decode(bytes) } catch { throw FolioClientError(errno: error, message: "malformed reply") }
        let isError = if case .error = decoded.reply { true } else { false }
        guard decoded.requestID == requestID || (isError && decoded.requestID == 0) else {
            throw FolioClientError(errno: .badMessage, message: "reply to request \(decoded.requestID), not \(requestID)")
        }
        return (decoded.requestID, decoded.reply)
    }

    private func wire(_ handles: [FolioHandle]) throws(FolioClientError) -> [UInt32] {
        guard handles.count <= Request.maxHandles else { throw FolioClientError(errno: .invalidArgument, message: "more than \(Request.maxHandles) handles") }
        return handles.map(\.rawValue)
    }

    private func unexpected(_ call: String) -> FolioClientError {
        FolioClientError(errno: .badMessage, message: "\(call): unexpected reply")
    }
}
