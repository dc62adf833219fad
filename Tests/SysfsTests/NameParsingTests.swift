import SystemPackage
import Testing
@testable import Sysfs

struct NameParsingTests {
    let names = ["syscall", "demotion", "promotion", "compaction"]

    @Test(arguments: [("kernel", "kernel", true), ("kernel\n", "kernel", true), ("kernel", "kernel\n", true),
                      ("kernel\n\n", "kernel", false), ("kern", "kernel", false), (" kernel", "kernel", false)])
    func sysfsStreq_ignoresOneTrailingNewline(lhs: String, rhs: String, equal: Bool) {
        #expect(sysfsStreq(lhs, rhs) == equal)
    }

    @Test func parseName_findsANameOrFailsWithEINVAL() throws {
        #expect(try parseName("promotion\n", among: names) == 2)
        #expect(throws: Errno.invalidArgument) { try parseName("Promotion", among: names) }
        #expect(throws: Errno.invalidArgument) { try parseName("", among: names) }
    }

    @Test func parseNameList_takesCommaSeparatedNames() throws {
        #expect(try parseNameList("syscall,compaction\n", among: names) == [0, 3])
        #expect(try parseNameList("demotion", among: names) == [1])
        #expect(try parseNameList("demotion,demotion", among: names) == [1])
    }

    @Test(arguments: ["", "\n", "syscall,", ",syscall", "syscall, demotion", "syscall,,demotion", "bogus", "syscall\n\n"])
    func parseNameList_rejectsMalformedLists(input: String) {
        #expect(throws: Errno.invalidArgument) { try parseNameList(input, among: names) }
    }
}
