import FolioMemory
import Synchronization
import SystemCalls
import SystemPackage
import Tiering

/// What the registry tells its owner about named spaces, so that they can be kept beyond the
/// process (the daemon stores their memfds in systemd's fd store). Called with the registry's
/// lock held: keep them short.
public struct SpaceEvents: Sendable {
    /// A named space was created.
    public var created: @Sendable (AddressSpace) -> Void
    /// A named space was destroyed: its name is gone, and it must not come back.
    public var destroyed: @Sendable (AddressSpace) -> Void

    public init(created: @escaping @Sendable (AddressSpace) -> Void, destroyed: @escaping @Sendable (AddressSpace) -> Void) {
        self.created = created
        self.destroyed = destroyed
    }

    /// Nothing kept: outside systemd.
    public static let none = SpaceEvents(created: { _ in }, destroyed: { _ in })
}

/// Every address space of the daemon: anonymous ones belong to one session; named ones outlive
/// their sessions until destroyed, and are destroyed for real once no session holds them. Each
/// uid has an account: how many named spaces it owns, and one byte quota over all its spaces.
///
/// Locking: `state` guards the name table, the holders count of each space and the accounts.
final class SpaceRegistry: Sendable {
    private struct Account {
        var namedSpaces = 0
        let quota: ByteBudget
    }

    private struct State {
        var nextID = 1
        // Keyed by the name's bytes: Swift compares Strings by canonical equivalence, so
        // "café" and "cafe\u{301}" would otherwise name one space.
        var named: [[UInt8]: AddressSpace] = [:]
        var holders: [ObjectIdentifier: Int] = [:]
        var doomed: Set<ObjectIdentifier> = []
        // Program spaces, with the pid that made each one.
        var programs: [ObjectIdentifier: (space: AddressSpace, pid: Int32)] = [:]
        // Kept for good once made: a quota that anonymous spaces still charge must not be
        // replaced by a fresh one.
        var accounts: [UInt32: Account] = [:]
    }

    let tiers: [Tier]
    /// The placement policy every space is shown to, if the daemon runs one.
    let tiering: TieringPolicy?
    /// The server's counts for the stats reply (`service.*`).
    let counters = ServiceCounters()
    private let limits: ServiceLimits
    private let events: SpaceEvents
    private let state = Mutex(State())

    /// Program spaces now, by name, with the pid that made each (`folioctl ps`).
    var programs: [(name: String, pid: Int32, space: AddressSpace)] {
        state.withLock { $0.programs.values.map { ($0.space.name ?? "", $0.pid, $0.space) } }.sorted { $0.name < $1.name }
    }

    /// Named spaces now (the stats reply's `service.named_spaces`).
    var namedSpaceCount: Int { state.withLock { $0.named.count } }

    init(tiers: [Tier], limits: ServiceLimits, events: SpaceEvents = .none, tiering: TieringPolicy? = nil) {
        self.tiers = tiers
        self.limits = limits
        self.events = events
        self.tiering = tiering
    }

    /// Takes over a named space a previous daemon left (see `AddressSpace.adopt`), with no
    /// session holding it; it counts against its owner like one created now. EEXIST if the
    /// name is taken already.
    func adopt(_ stored: StoredSpace) throws(SystemCallError) -> AdoptionReport {
        try state.withLock { (state) throws(SystemCallError) -> AdoptionReport in
            let key = Array(stored.name.utf8)
            guard state.named[key] == nil else { throw SystemCallError(call: "space \(stored.name) is stored twice", errno: .fileExists) }
            var account = state.accounts[stored.owner] ?? Account(quota: ByteBudget(limit: limits.bytesPerUID))
            let (space, report) = try AddressSpace.adopt(stored, tiers: tiers, limits: limits.space, quota: account.quota)
            state.named[key] = space
            tiering?.track(space)
            state.nextID = max(state.nextID, stored.id + 1)
            account.namedSpaces += 1
            state.accounts[stored.owner] = account
            return report
        }
    }

    /// A space for a session of `uid`: a new anonymous one, or the named one (created if
    /// missing). EACCES when another uid owns the name; EDQUOT when `uid` owns as many named
    /// spaces as it may; ENOSPC when the daemon holds as many as it may; ENOMEM or EMFILE when
    /// memfds cannot be had.
    /// `program`: a new program space (PROTOCOL.md §10), named and freed with its last
    /// session, never kept for a restart: EINVAL without a name, EEXIST if the name is taken.
    func attach(name: String?, uid: UInt32, program: Bool = false, pid: Int32 = 0) throws(Errno) -> AddressSpace {
        try state.withLock { (state) throws(Errno) -> AddressSpace in
            if program && name == nil { throw .invalidArgument }
            if let name, let existing = state.named[Array(name.utf8)] {
                guard !program else { throw .fileExists }
                guard existing.owner == uid else { throw .permissionDenied }
                state.holders[ObjectIdentifier(existing), default: 0] += 1
                return existing
            }
            var account = state.accounts[uid] ?? Account(quota: ByteBudget(limit: limits.bytesPerUID))
            if name != nil {
                guard account.namedSpaces < limits.namedSpacesPerUID else { throw .diskQuotaExceeded }
                guard state.named.count < limits.namedSpaces else { throw .noSpace }
            }
            let space: AddressSpace
            do throws(SystemCallError) {
                space = try AddressSpace(id: state.nextID, name: name, owner: uid, tiers: tiers, limits: limits.space, quota: account.quota, isProgram: program)
            } catch {
                throw error.errno
            }
            state.nextID += 1
            tiering?.track(space)
            if let name {
                state.named[Array(name.utf8)] = space
                account.namedSpaces += 1
                // A program's memory is mapped in the program: no restart can hand it back.
                if program { state.programs[ObjectIdentifier(space)] = (space, pid) } else { events.created(space) }
            }
            state.accounts[uid] = account
            state.holders[ObjectIdentifier(space)] = 1
            return space
        }
    }

    /// The program space `name` for its runtime's channel: ENOENT if there is none, EACCES
    /// if `uid` does not own it, EINVAL if it is not a program space.
    func attachChannel(name: String, uid: UInt32) throws(Errno) -> AddressSpace {
        try state.withLock { (state) throws(Errno) -> AddressSpace in
            guard let space = state.named[Array(name.utf8)] else { throw .noSuchFileOrDirectory }
            guard space.owner == uid else { throw .permissionDenied }
            guard space.isProgram else { throw .invalidArgument }
            state.holders[ObjectIdentifier(space), default: 0] += 1
            return space
        }
    }

    /// A session lets go of `space`: an anonymous, program or destroyed space with no holder
    /// left is freed.
    func detach(_ space: AddressSpace) {
        let release = state.withLock { state -> Bool in
            let key = ObjectIdentifier(space)
            let left = (state.holders[key] ?? 1) - 1
            guard left == 0 else {
                state.holders[key] = left
                return false
            }
            state.holders[key] = nil
            let keep = space.name != nil && !space.isProgram && !state.doomed.contains(key)
            if !keep { state.doomed.remove(key) }
            if space.isProgram, let name = space.name.map({ Array($0.utf8) }), state.named[name] === space {
                state.named[name] = nil
                state.accounts[space.owner]?.namedSpaces -= 1
            }
            if !keep { state.programs[key] = nil }
            return !keep
        }
        if release { destroy(released: space) }
    }

    /// Takes a named space's name away now (it no longer counts against its owner); its memory
    /// goes when its last session detaches.
    func destroy(_ space: AddressSpace) {
        state.withLock { state in
            if let name = space.name.map({ Array($0.utf8) }), state.named[name] === space {
                state.named[name] = nil
                state.accounts[space.owner]?.namedSpaces -= 1
                events.destroyed(space)
            }
            state.doomed.insert(ObjectIdentifier(space))
        }
    }

    /// Frees every space (daemon shutdown).
    func destroyAll() {
        let spaces = state.withLock { state in
            defer { state.named = [:] }
            return Array(state.named.values)
        }
        spaces.forEach(destroy(released:))
    }

    /// Frees a space no session holds any more, out of the policy's sight first.
    private func destroy(released space: AddressSpace) {
        tiering?.forget(space)
        space.destroy()
    }
}
