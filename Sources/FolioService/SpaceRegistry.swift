import FolioMemory
import Synchronization
import SystemCalls
import SystemPackage

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
        // Kept for good once made: a quota that anonymous spaces still charge must not be
        // replaced by a fresh one.
        var accounts: [UInt32: Account] = [:]
    }

    let tiers: [Tier]
    private let limits: ServiceLimits
    private let state = Mutex(State())

    init(tiers: [Tier], limits: ServiceLimits) {
        self.tiers = tiers
        self.limits = limits
    }

    /// A space for a session of `uid`: a new anonymous one, or the named one (created if
    /// missing). EACCES when another uid owns the name; EDQUOT when `uid` owns as many named
    /// spaces as it may; ENOSPC when the daemon holds as many as it may; ENOMEM or EMFILE when
    /// memfds cannot be had.
    func attach(name: String?, uid: UInt32) throws(Errno) -> AddressSpace {
        try state.withLock { (state) throws(Errno) -> AddressSpace in
            if let name, let existing = state.named[Array(name.utf8)] {
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
                space = try AddressSpace(id: state.nextID, name: name, owner: uid, tiers: tiers, limits: limits.space, quota: account.quota)
            } catch {
                throw error.errno
            }
            state.nextID += 1
            if let name {
                state.named[Array(name.utf8)] = space
                account.namedSpaces += 1
            }
            state.accounts[uid] = account
            state.holders[ObjectIdentifier(space)] = 1
            return space
        }
    }

    /// A session lets go of `space`: an anonymous or destroyed space with no holder left is freed.
    func detach(_ space: AddressSpace) {
        let release = state.withLock { state -> Bool in
            let key = ObjectIdentifier(space)
            let left = (state.holders[key] ?? 1) - 1
            guard left == 0 else {
                state.holders[key] = left
                return false
            }
            state.holders[key] = nil
            let keep = space.name != nil && !state.doomed.contains(key)
            if !keep { state.doomed.remove(key) }
            return !keep
        }
        if release { space.destroy() }
    }

    /// Takes a named space's name away now (it no longer counts against its owner); its memory
    /// goes when its last session detaches.
    func destroy(_ space: AddressSpace) {
        state.withLock { state in
            if let name = space.name.map({ Array($0.utf8) }), state.named[name] === space {
                state.named[name] = nil
                state.accounts[space.owner]?.namedSpaces -= 1
            }
            state.doomed.insert(ObjectIdentifier(space))
        }
    }

    /// Named spaces that exist now (for the service's own accounting and tests).
    var namedCount: Int { state.withLock { $0.named.count } }

    /// Frees every space (daemon shutdown).
    func destroyAll() {
        let spaces = state.withLock { state in
            defer { state.named = [:] }
            return Array(state.named.values)
        }
        spaces.forEach { $0.destroy() }
    }
}
