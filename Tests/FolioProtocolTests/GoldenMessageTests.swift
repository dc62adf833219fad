import FoundationEssentials
import SystemPackage
import Testing
@testable import FolioProtocol

/// The worked exchange of Documentation/PROTOCOL.md, committed as `Golden/*.hex`: the encoder
/// must reproduce every message byte for byte and the decoder must read each back, so the
/// document and the code cannot drift apart without a failing test.
struct GoldenMessageTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// The bytes of a `.hex` file: hex pairs separated by white space; `#` starts a comment line.
    static func bytes(_ name: String) throws -> [UInt8] {
        let text = try String(contentsOf: directory.appendingPathComponent(name + ".hex"), encoding: .utf8)
        return try text.split(separator: "\n").filter { !$0.hasPrefix("#") }.flatMap { $0.split(separator: " ") }.map { pair in
            try #require(UInt8(pair, radix: 16), "not a hex byte: \(pair)")
        }
    }

    static let requests: [(String, UInt32, Request)] = [
        ("request-attach", 1, .attach(name: "demo", features: .marksWrites)),
        ("request-allocate", 2, .allocate(tier: 0, order: 0, count: 2)),
        ("request-migrate", 3, .migrate(handles: [0, 1, 7], targetTier: 1, reason: .demotion)),
        ("request-allocate-bad-tier", 4, .allocate(tier: 5, order: 0, count: 1)),
        ("request-destroy", 5, .destroy),
        ("request-stats", 6, .stats),
    ]

    static let replies: [(String, UInt32, Reply)] = [
        ("reply-attached", 1, .attached(spaceID: 1, tiers: [TierInfo(name: "fast", sizeBytes: 64 << 20), TierInfo(name: "slow", sizeBytes: 64 << 20)])),
        ("reply-allocated", 2, .allocated(handles: [0, 1])),
        ("reply-migrated", 3, .migrated(MigrationOutcome(results: [.tier(1), .tier(1), .failed(.noSuchFileOrDirectory)], unmapNanos: 47129, copyNanos: 36021, moveNanos: 7562, batches: 1))),
        ("reply-error", 4, .error(errno: Errno.invalidArgument.rawValue, message: "allocate")),
        ("reply-destroyed", 5, .destroyed),
        ("reply-stats", 6, .stats(FolioStats(migrator: "mtcopy", counters: [
            .init(name: "batches", value: 1), .init(name: "folios_migrated", value: 2), .init(name: "tier.fast.free_bytes", value: 64 << 20),
        ]))),
    ]

    @Test(arguments: requests.map(\.0))
    func everyGoldenRequest_isWhatTheEncoderWritesAndTheDecoderReads(name: String) throws {
        let (_, id, request) = try #require(Self.requests.first { $0.0 == name })
        try Self.check(name, id: id, message: request, encode: request.encode, decode: Request.decode)
    }

    @Test(arguments: replies.map(\.0))
    func everyGoldenReply_isWhatTheEncoderWritesAndTheDecoderReads(name: String) throws {
        let (_, id, reply) = try #require(Self.replies.first { $0.0 == name })
        try Self.check(name, id: id, message: reply, encode: reply.encode, decode: Reply.decode)
    }

    /// The golden file `name` is `encode`'s output for request id `id`, and `decode` reads it
    /// back as `message` with that id.
    static func check<Message: Equatable>(
        _ name: String, id: UInt32, message: Message,
        encode: (UInt32) -> [UInt8], decode: ([UInt8]) throws -> (UInt32, Message)
    ) throws {
        let golden = try bytes(name)
        #expect(encode(id) == golden)
        let (decodedID, decoded) = try decode(golden)
        #expect(decodedID == id && decoded == message)
    }
}
