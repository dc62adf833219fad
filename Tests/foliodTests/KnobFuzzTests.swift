import FolioClient
import TestSupport
import Foundation
import Synchronization
import Testing

/// Thousands of random writes to every knob of a running daemon, from concurrent writers, some
/// split in two: each write is stored or fails with a kernel errno, the daemon never dies, and
/// every knob reads a valid value afterwards.
@Suite(.serialized)
struct KnobFuzzTests {
    static let writesPerThread = 1500
    static let writers = 3

    /// What each writable knob may show.
    static let valid: [String: @Sendable (String) -> Bool] = {
        let number = { @Sendable (range: ClosedRange<Int>) -> @Sendable (String) -> Bool in { value in Int(value).map(range.contains) ?? false } }
        let counter: @Sendable (String) -> Bool = { UInt64($0) != nil }
        let migrators = ["kernel", "mtcopy", "dcbm"]
        let reasons = ["syscall", "demotion", "promotion", "compaction"]
        return [
            "migration/offload_migrator": { value in migrators.indices.contains { index in
                value == migrators.enumerated().map { $0.offset == index ? "[\($0.element)]" : $0.element }.joined(separator: " ")
            } },
            "migration/reason_mask": { $0 == "none" || $0.split(separator: ",").allSatisfy { reasons.contains(String($0)) } },
            "migration/batch_size": number(1...512),
            "mtcopy/offloading": number(0...1), "dcbm/offloading": number(0...1),
            "mtcopy/threads": number(1...64), "dcbm/nr_dma_chan": number(1...16),
            "mtcopy/folios_migrated": counter, "mtcopy/folios_failures": counter,
            "dcbm/folios_migrated": counter, "dcbm/folios_failures": counter,
            "debug/fail_dma/probability": number(0...100), "debug/fail_dma/times": number(-1...Int(Int32.max)),
            "debug/fail_dma/stall": number(0...1),
        ]
    }()

    static let tokens = ["0", "1", "y", "N", "on", "off", "of", "kernel", "mtcopy", "dcbm", "all", "none", "syscall,demotion",
                         "promotion,", "0x10", "010", "08", "+5", "-1", "-2", "65", "512", "513", "4294967296", "99999999999999999999", ""]

    static func input(using generator: inout some RandomNumberGenerator) -> [UInt8] {
        switch Int.random(in: 0..<4, using: &generator) {
        case 0:
            let length = [0, 1, 2, 8, 100, 4095, 4096, 4097, 8192][Int.random(in: 0..<9, using: &generator)]
            return (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
        default:
            var text = Array(tokens.randomElement(using: &generator)!.utf8)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: text.append(10)
            case 1: text += [10, 10]
            case 2: text.insert(32, at: 0)
            case 3: text += [0] + Array("garbage".utf8)
            default: break
            }
            return text
        }
    }

    @Test func randomWritesToEveryKnob_storeOrFailWithAKernelErrnoAndLeaveValidValues() throws {
        let daemon = try RunningDaemon(tierBytes: 64 << 20)
        #expect(daemon.waitUntilServing())
        let knobs = Self.valid.keys.sorted()
        let unexpected = Mutex<[String]>([])
        let tried = Atomic<Int>(0)
        onThreads(Self.writers) { writer in
            var generator = SystemRandomNumberGenerator()
            for round in 0..<Self.writesPerThread {
                let knob = knobs[(round * 7 + writer) % knobs.count]
                let fd = open(daemon.mountpoint + "/" + knob, O_WRONLY | O_TRUNC)
                guard fd >= 0 else { unexpected.withLock { $0.append("open \(knob): errno \(errno)") }; continue }
                let bytes = Self.input(using: &generator)
                let parts = bytes.count > 1 && Bool.random(using: &generator) ? [Array(bytes.prefix(bytes.count / 2)), Array(bytes.dropFirst(bytes.count / 2))] : [bytes]
                for part in parts {
                    let written = part.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    let code = errno
                    tried.add(1, ordering: .relaxed)
                    if written < 0 {
                        if ![EINVAL, ERANGE, EBUSY].contains(code) { unexpected.withLock { $0.append("\(knob) \(part.prefix(16)): errno \(code)") } }
                    } else if written != min(part.count, 4096) {
                        unexpected.withLock { $0.append("\(knob): wrote \(written) of \(part.count)") }
                    }
                }
                close(fd)
            }
        }
        #expect(unexpected.withLock { $0 }.isEmpty, "\(unexpected.withLock { $0.prefix(5) })")
        #expect(daemon.process.isRunning)
        for knob in knobs {
            let value = daemon.knob(knob)
            #expect(Self.valid[knob]!(value), "\(knob) reads '\(value)'")
        }
        for readOnly in ["dcbm/engine", "dcbm/timeouts", "migration/stats/batches", "tiers/fast/free_bytes"] {
            #expect(open(daemon.mountpoint + "/" + readOnly, O_WRONLY) == -1 && errno == EACCES)
        }
        // Still serving: a client migrates with whatever the fuzz left active.
        try daemon.setKnob("debug/fail_dma/stall", "0")
        let client = try daemon.client()
        let handles = try client.allocate(tier: 0, order: 0, count: 8)
        #expect(try client.migrate(handles, to: 1).results == Array(repeating: .tier(1), count: 8))
        print("knob fuzz: \(tried.load(ordering: .relaxed)) writes to \(knobs.count) knobs")
    }
}
