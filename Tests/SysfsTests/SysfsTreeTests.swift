import SystemPackage
import Testing
@testable import Sysfs

struct SysfsTreeTests {
    func makeTree() -> SysfsTree {
        let tree = SysfsTree()
        tree.directory("dcbm").add(.readOnly("engine") { "software\n" })
        tree.directory("debug/fail_dma").add(.readOnly("times") { "1\n" })
        return tree
    }

    @Test func lookup_resolvesNestedPaths() throws {
        let tree = makeTree()
        #expect(try tree.attribute("debug/fail_dma/times").name == "times")
        #expect(try tree.attribute("/dcbm/engine").name == "engine")
    }

    @Test func lookup_failsLikeAPathWalk() {
        let tree = makeTree()
        #expect(throws: Errno.noSuchFileOrDirectory) { try tree.lookup("dcbm/missing") }
        #expect(throws: Errno.notDirectory) { try tree.lookup("dcbm/engine/x") }
        #expect(throws: Errno.isDirectory) { try tree.attribute("dcbm") }
    }

    @Test func allAttributes_listsEveryPathInOrder() {
        #expect(makeTree().allAttributes().map(\.path) == ["dcbm/engine", "debug/fail_dma/times"])
    }

    @Test func directory_returnsTheSameDirectoryForTheSamePath() {
        let tree = makeTree()
        #expect(tree.directory("dcbm") === tree.directory("dcbm"))
    }
}
