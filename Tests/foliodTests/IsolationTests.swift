import FolioClient
import TestSupport
import Foundation
import SystemPackage
import Testing

/// One client cannot name, free, migrate or map another's folios.
@Suite(.serialized)
struct IsolationTests {
    @Test func anotherClientsHandles_areENOENTInMySpace() throws {
        let daemon = try RunningDaemon()
        let owner = try daemon.client()
        let theirs = try owner.allocate(tier: 0, order: 0, count: 3)
        try owner.withPinnedFolio(theirs[0]) { $0.initializeMemory(as: UInt8.self, repeating: 7) }
        let intruder = try daemon.client()
        #expect(try intruder.migrate(theirs, to: 1).results == Array(repeating: .failed(.noSuchFileOrDirectory), count: 3))
        #expect(try intruder.free(theirs) == Array(repeating: .noSuchFileOrDirectory, count: 3))
        #expect(throws: FolioClientError.self) { try intruder.withPinnedFolio(theirs[0]) { _ in } }
        #expect(owner.tier(of: theirs[0]) == 0)
        #expect(try owner.withPinnedFolio(theirs[0]) { $0.allSatisfy { $0 == 7 } })
    }

    @Test func aNamedSpace_isAttachableOnlyByItsOwner() throws {
        let daemon = try RunningDaemon()
        _ = try daemon.client(space: "root-only").allocate(tier: 0, order: 0, count: 1)
        // The socket is 0660 root:root, so nobody cannot even connect…
        let nobody = try daemon.runFolioctl(["--space", "root-only", "stat"], asNobody: true)
        #expect(nobody.status != 0)
        #expect(nobody.errors.contains("EACCES"))
        // …and a space of another uid would be refused at attach (checked against the owner).
        let again = try daemon.client(space: "root-only")
        #expect(again.tier(of: 0) == 0)
    }

    @Test func theSocket_hasMode0660() throws {
        let daemon = try RunningDaemon()
        let attributes = try FileManager.default.attributesOfItem(atPath: daemon.socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o660)
    }
}
