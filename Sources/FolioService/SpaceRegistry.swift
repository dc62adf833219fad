import FolioMemory
import Synchronization
import SystemPackage

/// Every address space of the daemon: anonymous ones belong to one session; named ones outlive
/// their sessions until destroyed, and are destroyed for real once no session holds them.
///
/// Locking: `state` guards the name table and the holders count of each space.
final class SpaceRegistry: Sendable {
    private struct State {
        var nextID = 1
        var named: [String: AddressSpace] = [:]
        var holders: [ObjectIdentifier: Int] = [:]
        var doomed: Set<ObjectIdentifier> = []
    }

    let tiers: [Tier]
    private let limits: SpaceLimits
    private let state = Mutex(State())

    init(tiers: [Tier], limits: SpaceLimits) {
        self.tiers = tiers
        self.limits = limits
    }

    /// A space for a session of `uid`: a new anonymous one, or the named one (created if
    /// missing). EACCES when another uid owns the name; ENOMEM when memfds cannot be had.
    func attach(name: String?, uid: UInt32) throws(Errno) -> AddressSpace {
        try state.withLock { (state) throws(Errno) -> AddressSpace in
            if let name, let existing = state.named[name] {
                guard existing.owner == uid else { throw .permissionDenied }
                state.holders[ObjectIdentifier(existing), default: 0] += 1
                return existing
            }
            let space: AddressSpace
            do throws(MemorySystemError) {
                space = try AddressSpace(id: state.nextID, name: name, owner: uid, tiers: tiers, limits: limits)
            } catch {
                throw error.errno
            }
            state.nextID += 1
            if let name { state.named[name] = space }
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

    /// Takes a named space's name away now; its memory goes when its last session detaches.
    func destroy(_ space: AddressSpace) {
        state.withLock { state in
            if let name = space.name, state.named[name] === space { state.named[name] = nil }
            state.doomed.insert(ObjectIdentifier(space))
        }
    }

    /// Frees every space (daemon shutdown).
    func destroyAll() {
        let spaces = state.withLock { state in
            defer { state.named = [:] }
            return Array(state.named.values)
        }
        spaces.forEach { $0.destroy() }
    }
}
