import SystemPackage
import TestSupport
import Testing
@testable import FolioProtocol

struct MessageCodingTests {
    @Test(arguments: [
        Request.attach(name: nil), .attach(name: "bench"), .attach(name: nil, features: .marksWrites), .allocate(tier: 1, order: 9, count: 512),
        .free(handles: [0, 7, 65535]), .migrate(handles: Array(0..<512), targetTier: 1, reason: .promotion), .stats, .destroy,
    ])
    func request_roundTrips(request: Request) throws {
        let decoded = try Request.decode(request.encode(requestID: 42))
        #expect(decoded.requestID == 42)
        #expect(decoded.request == request)
    }

    @Test(arguments: [
        Reply.attached(spaceID: 3, tiers: [TierInfo(name: "fast", sizeBytes: 1 << 30), TierInfo(name: "slow", sizeBytes: 2 << 30)]),
        .allocated(handles: [1, 2, 3]), .freed(status: [nil, .noSuchFileOrDirectory]), .stats(FolioStats(migrator: "kernel", counters: [.init(name: "batches", value: 1)])), .destroyed,
        .migrated(MigrationOutcome(results: [.tier(1), .failed(.resourceBusy), .failed(.noSuchFileOrDirectory)], unmapNanos: 10, copyNanos: 20, moveNanos: 30, batches: 1)),
        .error(errno: 22, message: "allocate"),
    ])
    func reply_roundTrips(reply: Reply) throws {
        let decoded = try Reply.decode(reply.encode(requestID: 7))
        #expect(decoded.requestID == 7)
        #expect(decoded.reply == reply)
    }

    @Test(arguments: [
        [0xFF], [0xFE], [0xC3], [0x61, 0x00, 0x62], [0x0A], [0x1B, 0x5B, 0x33, 0x31, 0x6D], [0x7F], [0xC2, 0x85],
        [UInt8](repeating: 0x61, count: SpaceName.maxBytes + 1),
    ] as [[UInt8]])
    func attach_withANameThatIsNotCleanUTF8Text_failsWithEINVAL(name: [UInt8]) {
        #expect(throws: Errno.invalidArgument) { try Request.decode(RawMessages.attach(rawName: name)) }
    }

    @Test func attach_namesAreTheBytesSent() throws {
        let name = Array("dépôt-1".utf8)
        #expect(try Request.decode(RawMessages.attach(rawName: name)).request == .attach(name: "dépôt-1"))
        let longest = [UInt8](repeating: 0x61, count: SpaceName.maxBytes)
        #expect(try Request.decode(RawMessages.attach(rawName: longest)).request == .attach(name: String(repeating: "a", count: SpaceName.maxBytes)))
    }

    /// The feature word is optional (an older client sends none); a bit this daemon does not
    /// know is EINVAL, a word cut short EBADMSG.
    @Test func attach_features_areOptional_andOnlyKnownBits() throws {
        let plain = Request.attachMessage(nameBytes: Array("a".utf8), requestID: 1)
        #expect(try Request.decode(plain).request == .attach(name: "a", features: []))
        let marked = Request.attachMessage(nameBytes: Array("a".utf8), features: .marksWrites, requestID: 1)
        #expect(marked.count == plain.count + 4)
        #expect(try Request.decode(marked).request == .attach(name: "a", features: .marksWrites))
        #expect(throws: Errno.invalidArgument) { try Request.decode(Request.attachMessage(nameBytes: [], features: AttachFeatures(rawValue: 8), requestID: 1)) }
        var short = plain + [1, 0]
        short[12] += 2  // the payload length covers the two bytes
        #expect(throws: Errno.badMessage) { try Request.decode(short) }
    }

    @Test func decode_ofEveryTruncation_failsWithEBADMSG() {
        let message = Request.migrate(handles: [1, 2, 3], targetTier: 0, reason: .syscall).encode(requestID: 1)
        for length in 0..<message.count {
            #expect(throws: Errno.badMessage) { try Request.decode(Array(message.prefix(length))) }
        }
    }

    @Test func decode_ofAMigrateWithNoSuchReason_failsWithEINVAL_butATruncatedOneWithEBADMSG() {
        var message = Request.migrate(handles: [1, 2, 3], targetTier: 0, reason: .syscall).encode(requestID: 1)
        message[18] = UInt8(MigrationReason.allCases.count)  // the reason byte, after the header and the tier
        #expect(throws: Errno.invalidArgument) { try Request.decode(message) }
        #expect(throws: Errno.badMessage) { try Request.decode(Array(message.dropLast())) }
    }

    @Test func decode_withTrailingBytes_failsWithEBADMSG() {
        var message = Request.stats.encode(requestID: 1)
        message[12] = 1  // payload length 1 …
        message.append(0)  // … and one stray byte the stats request does not have
        #expect(throws: Errno.badMessage) { try Request.decode(message) }
    }

    @Test func decode_ofAnotherVersion_failsWithEPROTONOSUPPORT() {
        var message = Request.stats.encode(requestID: 1)
        message[4] = 2
        #expect(throws: Errno.protocolNotSupported) { try Request.decode(message) }
    }

    @Test func decode_ofAnUnknownKind_failsWithEOPNOTSUPP() {
        var message = Request.stats.encode(requestID: 1)
        message[6] = 99
        #expect(throws: Errno.notSupportedOnSocket) { try Request.decode(message) }
    }

    @Test func decode_ofGarbage_failsWithEBADMSG() {
        var generator = SystemRandomNumberGenerator()
        for length in [1, 15, 16, 17, 64, 1000] {
            let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(throws: Errno.self) { try Request.decode(garbage) }
        }
    }

    @Test func decode_ofAHandleCountLargerThanTheMessage_failsWithEBADMSG() {
        var message = Request.free(handles: [1]).encode(requestID: 1)
        message[16] = 0xFF  // claims 255 handles, carries one
        #expect(throws: Errno.badMessage) { try Request.decode(message) }
    }
}
