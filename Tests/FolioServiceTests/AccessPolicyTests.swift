import SystemCalls
import Testing
@testable import FolioService

/// Who `AccessPolicy` lets attach: root, the daemon's own uid, members of the configured group
/// (primary or supplementary); with no group, only the first two.
struct AccessPolicyTests {
    /// A daemon running as uid 990, as under a `User=` line.
    static let daemonUID: UInt32 = 990
    static let group: UInt32 = 4242

    struct Peer: CustomTestStringConvertible, Sendable {
        var uid: UInt32
        var gid: UInt32
        var groups: [UInt32] = []
        var testDescription: String { "uid \(uid) gid \(gid) groups \(groups)" }
    }

    @Test(arguments: [
        (Peer(uid: 0, gid: 0), true),  // root
        (Peer(uid: 0, gid: 1000, groups: [1000]), true),
        (Peer(uid: daemonUID, gid: 990), true),  // the daemon's own uid
        (Peer(uid: daemonUID, gid: 12345, groups: [7]), true),
        (Peer(uid: 1000, gid: group), true),  // primary group
        (Peer(uid: 1000, gid: 1000, groups: [group]), true),  // supplementary
        (Peer(uid: 1000, gid: 1000, groups: [4, 24, 27, group, 100]), true),
        (Peer(uid: 1000, gid: 1000), false),
        (Peer(uid: 1000, gid: 1000, groups: [4, 24, 27, 100]), false),
        (Peer(uid: 1000, gid: 0, groups: [0]), false),  // root's group is not root
        (Peer(uid: 1000, gid: group + 1, groups: [group - 1]), false),
        (Peer(uid: 65534, gid: 65534), false),
        (Peer(uid: daemonUID + 1, gid: 990, groups: [990]), false),  // the daemon's gid is no group of the policy
    ])
    func withAGroup_permitsRootTheDaemonAndMembers(peer: Peer, permitted: Bool) {
        let policy = AccessPolicy(groupID: Self.group, daemonUID: Self.daemonUID)
        #expect(policy.permits(uid: peer.uid, gid: peer.gid, groups: peer.groups) == permitted)
    }

    @Test(arguments: [
        (Peer(uid: 0, gid: 0), true),
        (Peer(uid: 0, gid: 5, groups: [5]), true),
        (Peer(uid: daemonUID, gid: 990), true),
        (Peer(uid: 1000, gid: group, groups: [group]), false),
        (Peer(uid: 1000, gid: 0, groups: [0]), false),
        (Peer(uid: 1000, gid: 990, groups: [990]), false),
        (Peer(uid: 65534, gid: 65534), false),
    ])
    func withoutAGroup_permitsOnlyRootAndTheDaemon(peer: Peer, permitted: Bool) {
        let policy = AccessPolicy(groupID: nil, daemonUID: Self.daemonUID)
        #expect(policy.permits(uid: peer.uid, gid: peer.gid, groups: peer.groups) == permitted)
    }

    @Test func aDaemonRunningAsRoot_permitsOnlyRootWithoutAGroup() {
        let policy = AccessPolicy(groupID: nil, daemonUID: 0)
        #expect(policy.permits(uid: 0, gid: 0, groups: []))
        #expect(!policy.permits(uid: 990, gid: 990, groups: []))
    }

    @Test func theConfiguredGroup_isLookedUpByName() throws {
        #expect(try AccessPolicy(group: nil).groupID == nil)
        #expect(try AccessPolicy(group: "root").groupID == 0)  // /etc/group's first line on every Linux
        let error = #expect(throws: AccessPolicy.Problem.self) { try AccessPolicy(group: "foliod-no-such-group") }
        #expect(error?.description == "group 'foliod-no-such-group' does not exist")
    }

    @Test func byName_theDaemonsUIDIsThisProcesss() throws {
        let policy = try AccessPolicy(group: nil)
        let me = Posix.effectiveUserID
        #expect(policy.permits(uid: me, gid: 4_000_000, groups: []))
        let stranger: UInt32 = me == 4_000_001 ? 4_000_002 : 4_000_001
        #expect(!policy.permits(uid: stranger, gid: 4_000_000, groups: []))
    }
}
