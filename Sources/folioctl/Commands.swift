import ArgumentParser
import FolioCommandLine
import FolioClient
import FolioProtocol
import Dispatch
import FoundationEssentials
import Glibc
import SystemCalls
import SystemPackage

struct Alloc: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Allocate folios; prints one handle a line.")
    @ParentCommand var folioctl: Folioctl
    @Option(help: "The tier's name.") var tier: String
    @Option(help: "The folio order, 0 (4 KiB) to 9 (2 MiB).") var order = 0
    @Option(help: "How many folios.") var count = 1

    func run() throws {
        try folioctl.options.withClient(program: "folioctl") { client in
            for handle in try client.allocate(tier: tier, order: order, count: count) { print(handle) }
        }
    }
}

struct Fill: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a pattern derived from --seed into each folio.")
    @ParentCommand var folioctl: Folioctl
    @Option(help: "The pattern's seed.") var seed: UInt64
    @Argument(help: "Handles.") var handles: [FolioHandle]

    func run() throws {
        try folioctl.options.withClient(program: "folioctl") { client in
            for handle in handles { try client.withPinnedFolio(handle) { FolioPattern(seed: seed, handle: handle).fill($0) } }
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check each folio holds --seed's pattern; exits 0 only if every byte is right.")
    @ParentCommand var folioctl: Folioctl
    @Option(help: "The pattern's seed.") var seed: UInt64
    @Argument(help: "Handles.") var handles: [FolioHandle]

    func run() throws {
        var bad = 0
        try folioctl.options.withClient(program: "folioctl") { client in
            for handle in handles {
                // A read pin: checking a folio does not make its shadow stale.
                let wrong = try client.withReadPinnedFolio(handle) { FolioPattern(seed: seed, handle: handle).mismatchedBytes($0) }
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
    static let configuration = CommandConfiguration(
        abstract: "Move folios to a tier; prints `HANDLE STATUS` a line (the tier, or the errno), or with --all `STATUS COUNT` a line."
    )
    @ParentCommand var folioctl: Folioctl
    @Option(help: "The target tier's name.") var to: String
    @Option(help: "syscall, demotion, promotion or compaction.") var reason = "syscall"
    @Flag(help: "Every folio of the space (a program's: folioctl ps names them).") var all = false
    @Argument(help: "Handles.") var handles: [FolioHandle] = []

    func validate() throws {
        guard all != !handles.isEmpty else { throw ValidationError("name handles, or --all, not both") }
    }

    func run() throws {
        guard let reason = MigrationReason(name: reason) else {
            throw ValidationError("unknown reason '\(reason)' (\(MigrationReason.names.joined(separator: ", ")))")
        }
        try folioctl.options.withClient(program: "folioctl") { client in
            let handles = all ? client.allocatedHandles : handles
            var counts: [String: Int] = [:]
            // One request carries at most Request.maxHandles.
            for start in stride(from: 0, to: handles.count, by: Request.maxHandles) {
                let chunk = Array(handles[start..<min(start + Request.maxHandles, handles.count)])
                for (handle, result) in zip(chunk, try client.migrate(chunk, to: to, reason: reason).results) {
                    let status = switch result {
                    case .tier(let tier): client.tiers[tier].name
                    case .failed(let errno): errno.name
                    }
                    if all { counts[status, default: 0] += 1 } else { print("\(handle) \(status)") }
                }
            }
            for (status, count) in counts.sorted(by: { $0.key < $1.key }) { print("\(status) \(count)") }
        }
    }
}

struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the programs foliod-run runs in the daemon's tiers, with their bytes per tier.")
    @ParentCommand var folioctl: Folioctl

    func run() throws {
        let stats: FolioStats
        do { stats = try FolioClient.stats(socketPath: folioctl.options.socket) } catch {
            print("folioctl: \(error.message): \(error.errno) (\(error.errno.name))", to: &standardError)
            throw ExitCode.failure
        }
        print(ProgramTable(stats).text, terminator: "")
    }
}

struct Free: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Free folios; prints `HANDLE freed` or `HANDLE ERRNO` a line.")
    @ParentCommand var folioctl: Folioctl
    @Argument(help: "Handles.") var handles: [FolioHandle]

    func run() throws {
        try folioctl.options.withClient(program: "folioctl") { client in
            for (handle, failure) in zip(handles, try client.free(handles)) {
                print("\(handle) \(failure?.name ?? "freed")")
            }
        }
    }
}

struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Destroy the --space and everything in it.")
    @ParentCommand var folioctl: Folioctl

    func run() throws {
        try folioctl.options.withClient(program: "folioctl") { try $0.destroy() }
    }
}

struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the daemon's counters as `key: value` lines (attaches to no space).")
    @ParentCommand var folioctl: Folioctl

    func run() throws {
        do {
            print(try FolioClient.stats(socketPath: folioctl.options.socket).text, terminator: "")
        } catch {
            print("folioctl: \(error.message): \(error.errno) (\(error.errno.name))", to: &standardError)
            throw ExitCode.failure
        }
    }
}

struct Hold: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pin folios and hold the pins for --seconds (or until killed); prints `pinned` once all are held."
    )
    @ParentCommand var folioctl: Folioctl
    @Option(help: "How long to hold the pins.") var seconds = 3600.0
    @Flag(help: "Take read pins: a migration may copy the folios meanwhile, and commits once they end.") var read = false
    @Argument(help: "Handles.") var handles: [FolioHandle]

    func validate() throws {
        guard !handles.isEmpty else { throw ValidationError("name at least one handle") }
        try ArgumentRanges.check(seconds, "--seconds")
    }

    func run() throws {
        try folioctl.options.withClient(program: "folioctl") { client in
            try pinAll(client, handles[...]) {
                // Unbuffered: a script waits for this line before it acts.
                writeStandardOutput("pinned\n")
                OSThread.sleep(.milliseconds(Int(min(seconds, 4000) * 1000)))
            }
        }
    }

    /// Pins `handles` one inside the other, runs `body` with all held.
    private func pinAll(_ client: FolioClient, _ handles: ArraySlice<FolioHandle>, _ body: () -> Void) throws {
        guard let first = handles.first else { return body() }
        if read {
            try client.withReadPinnedFolio(first) { _ in try pinAll(client, handles.dropFirst(), body) }
        } else {
            try client.withPinnedFolio(first) { _ in try pinAll(client, handles.dropFirst(), body) }
        }
    }
}

extension FolioHandle: ExpressibleByArgument {
    public init?(argument: String) {
        guard let raw = UInt32(argument) else { return nil }
        self.init(rawValue: raw)
    }
}
