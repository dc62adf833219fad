import ArgumentParser
import FolioClient
import Sysfs
import SystemPackage

/// Runs `body` with a connected client; a refusal prints `folioctl: …` and exits 1.
func withClient(_ options: ClientOptions, _ body: (FolioClient) throws -> Void) throws {
    do {
        try body(try FolioClient(socketPath: options.socket, space: options.space))
    } catch let error as FolioClientError {
        print("folioctl: \(error.message): \(error.errno) (\(error.errno.name))", to: &standardError)
        throw ExitCode.failure
    }
}

struct Alloc: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Allocate folios; prints one handle a line.")
    @ParentCommand var folioctl: Folioctl
    @Option(help: "The tier's name.") var tier: String
    @Option(help: "The folio order, 0 (4 KiB) to 9 (2 MiB).") var order = 0
    @Option(help: "How many folios.") var count = 1

    func run() throws {
        try withClient(folioctl.options) { client in
            for handle in try client.allocate(tier: try client.tierIndex(tier), order: order, count: count) { print(handle) }
        }
    }
}

struct Fill: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a pattern derived from --seed into each folio.")
    @ParentCommand var folioctl: Folioctl
    @Option(help: "The pattern's seed.") var seed: UInt64
    @Argument(help: "Handles.") var handles: [Int]

    func run() throws {
        try withClient(folioctl.options) { client in
            for handle in handles { try client.withPinnedFolio(handle) { FolioPattern(seed: seed, handle: handle).fill($0) } }
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check each folio holds --seed's pattern; exits 0 only if every byte is right.")
    @ParentCommand var folioctl: Folioctl
    @Option(help: "The pattern's seed.") var seed: UInt64
    @Argument(help: "Handles.") var handles: [Int]

    func run() throws {
        var bad = 0
        try withClient(folioctl.options) { client in
            for handle in handles {
                let wrong = try client.withPinnedFolio(handle) { FolioPattern(seed: seed, handle: handle).mismatchedBytes($0) }
                if wrong > 0 {
                    print("\(handle) \(wrong) bytes differ")
                    bad += 1
                }
            }
        }
        if bad > 0 { throw ExitCode.failure }
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Move folios to a tier; prints `HANDLE STATUS` a line (the tier, or the errno).")
    @ParentCommand var folioctl: Folioctl
    @Option(help: "The target tier's name.") var to: String
    @Option(help: "syscall, demotion, promotion or compaction.") var reason = "syscall"
    @Argument(help: "Handles.") var handles: [Int]

    func run() throws {
        let reasons = ["syscall", "demotion", "promotion", "compaction"]
        guard let reasonIndex = reasons.firstIndex(of: reason) else {
            throw ValidationError("unknown reason '\(reason)' (\(reasons.joined(separator: ", ")))")
        }
        try withClient(folioctl.options) { client in
            let reply = try client.migrate(handles, to: try client.tierIndex(to), reason: reasonIndex)
            for (handle, status) in zip(handles, reply.status) {
                print("\(handle) \(status >= 0 ? client.tiers[Int(status)].name : Errno(rawValue: -status).name)")
            }
        }
    }
}

struct Free: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Free folios; prints `HANDLE freed` or `HANDLE ERRNO` a line.")
    @ParentCommand var folioctl: Folioctl
    @Argument(help: "Handles.") var handles: [Int]

    func run() throws {
        try withClient(folioctl.options) { client in
            for (handle, status) in zip(handles, try client.free(handles)) {
                print("\(handle) \(status == 0 ? "freed" : Errno(rawValue: -status).name)")
            }
        }
    }
}

struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Destroy the --space and everything in it.")
    @ParentCommand var folioctl: Folioctl

    func run() throws {
        try withClient(folioctl.options) { try $0.destroy() }
    }
}

struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the daemon's counters as `key: value` lines.")
    @ParentCommand var folioctl: Folioctl

    func run() throws {
        try withClient(folioctl.options) { print(try $0.stats(), terminator: "") }
    }
}
