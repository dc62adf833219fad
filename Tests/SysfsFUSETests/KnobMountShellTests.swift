import Foundation
import Testing
@testable import SysfsFUSE

/// What a shell user does to a mounted tree: every command here is a real process against a
/// real FUSE mount, and every answer is the one sysfs gives.
@Suite(.serialized)
struct KnobMountShellTests {
    @Test func echo_storesTheLineAndCatShowsIt() throws {
        let knobs = try MountedTestTree()
        let result = try knobs.run("echo 5 > value && cat value")
        #expect(result.status == 0)
        #expect(result.stdout == "5\n")
        #expect(knobs.storedValues == ["5\n"])
    }

    @Test func printf_tee_dashAndAppend_eachStoreOnce() throws {
        let knobs = try MountedTestTree()
        #expect(try knobs.run("printf '%s' 7 > value").status == 0)
        #expect(try knobs.run("echo 9 | tee value").stdout == "9\n")
        #expect(try knobs.run("echo 3 > value", shell: "/usr/bin/dash").status == 0)
        #expect(try knobs.run("echo 4 >> value").status == 0)
        #expect(knobs.storedValues == ["7", "9\n", "3\n", "4\n"])
        #expect(knobs.currentValue == 4)
    }

    @Test func echo_garbage_failsWithInvalidArgumentAndChangesNothing() throws {
        let knobs = try MountedTestTree()
        _ = try knobs.run("echo 2 > value")
        let result = try knobs.run("echo garbage > value")
        #expect(result.status == 1)
        #expect(result.stderr.hasSuffix("write error: Invalid argument\n"))
        #expect(knobs.currentValue == 2)
        #expect(try knobs.run("cat value").stdout == "2\n")
    }

    @Test func echo_tooLarge_failsWithNumericalResultOutOfRange() throws {
        let knobs = try MountedTestTree()
        let result = try knobs.run("echo 4294967296 > value")
        #expect(result.stderr.hasSuffix("write error: Numerical result out of range\n"))
    }

    @Test func printf_withTwoNewlines_isTwoWritesAndTheSecondFails() throws {
        let knobs = try MountedTestTree()
        let result = try knobs.run("printf '1\\n\\n' > value")
        #expect(knobs.storedValues == ["1\n", "\n"])
        #expect(knobs.currentValue == 1)
        #expect(result.status == 1)
        #expect(result.stderr.contains("Invalid argument"))
    }

    /// dash's `echo` reports every failed write as "I/O error" (as it does on sysfs); what
    /// matters is that the write fails and the value stays.
    @Test func dash_writesAndFailsLikeBash() throws {
        let knobs = try MountedTestTree()
        let result = try knobs.run("echo 1 > sub/flag && cat sub/flag && echo maybe > sub/flag", shell: "/usr/bin/dash")
        #expect(result.stdout == "1\n")
        #expect(result.status != 0)
        #expect(result.stderr.contains("echo"))
        #expect(try knobs.run("cat sub/flag").stdout == "1\n")
    }

    @Test func readOnlyKnobs_refuseWritesEvenFromRoot() throws {
        let knobs = try MountedTestTree()
        for name in ["engine", "locked"] {
            let result = try knobs.run("echo 1 > \(name)")
            #expect(result.status == 1)
            #expect(result.stderr.contains("Permission denied"))
        }
        #expect(try knobs.run("cat engine").stdout == "software\n")
    }

    @Test func nobody_canReadButNotWrite() throws {
        let knobs = try MountedTestTree()
        _ = try knobs.run("echo 6 > value")
        let read = try knobs.run("cat value sub/flag engine", asNobody: true)
        #expect(read.status == 0)
        #expect(read.stdout == "6\n0\nsoftware\n")
        for name in ["value", "sub/flag", "engine"] {
            let write = try knobs.run("echo 1 > \(name)", asNobody: true)
            #expect(write.status == 1)
            #expect(write.stderr.contains("Permission denied"))
        }
        #expect(knobs.currentValue == 6)
    }

    @Test func stat_showsRegularFilesOfAPageWithTheirModes() throws {
        let knobs = try MountedTestTree()
        let result = try knobs.run("stat -c '%n %s %a %U %F' value engine sub/flag; stat -c '%n %a %F' sub")
        #expect(result.stdout == """
            value 4096 644 root regular file
            engine 4096 444 root regular file
            sub/flag 4096 644 root regular file
            sub 755 directory

            """)
        #expect(try knobs.run("ls").stdout == "big\nengine\nlocked\nsub\nvalue\n")
    }

    @Test func pathErrors_areTheOnesLinuxGives() throws {
        let knobs = try MountedTestTree()
        #expect(try knobs.run("cat missing").stderr.contains("No such file or directory"))
        #expect(try knobs.run("cat value/x").stderr.contains("Not a directory"))
        #expect(try knobs.run("cat sub").stderr.contains("Is a directory"))
        #expect(try knobs.run("echo 1 > sub").stderr.contains("Is a directory"))
        #expect(try knobs.run("echo 1 > newknob").stderr.contains("Permission denied"))
        #expect(try knobs.run("mkdir newdir").stderr.contains("Operation not permitted"))
        #expect(try knobs.run("rm value").stderr.contains("Operation not permitted"))
    }

    @Test func cat_ofAShowLongerThanAPage_getsOnePage() throws {
        let knobs = try MountedTestTree()
        #expect(try knobs.run("cat big | wc -c").stdout == "4096\n")
    }
}
