import SystemPackage
import Testing
@testable import FolioMemory

/// A tier's default watermarks are the kernel's for a zone of that size (`mm/page_alloc.c`:
/// `min_free_kbytes = int_sqrt(16 × KiB)`, then `__setup_per_zone_wmarks()`'s gap of
/// `max(min / 4, managed × watermark_scale_factor / 10000)` pages, the factor 10), in bytes.
struct WatermarksTests {
    /// The kernel's numbers, worked out by hand with integer square roots (and page counts),
    /// not by the code under test: tier size → min, low, high.
    @Test(arguments: [
        (2 << 20, 184_320, 229_376, 274_432),  // √2048 = 45.25: 181 KiB → 45 pages; the gap is min/4 (11 pages)
        (6 << 20, 319_488, 397_312, 475_136),
        (16 << 20, 524_288, 655_360, 786_432),  // √16384 = 128: 512 KiB exactly
        (64 << 20, 1_048_576, 1_310_720, 1_572_864),
        (1 << 30, 4_194_304, 5_267_456, 6_340_608),  // from here the 0.1% gap (262 pages) beats min/4 (256)
        (2 << 30, 5_931_008, 8_077_312, 10_223_616),  // √2097152 = 1448.15: 5792 KiB; gap 524 pages
        (10 << 30, 13_262_848, 23_998_464, 34_734_080),
        (16 << 30, 16_777_216, 33_955_840, 51_134_464),
        (1 << 40, 134_217_728, 1_233_727_488, 2_333_237_248),
    ] as [(Int, Int, Int, Int)])
    func defaults_areTheKernelsForAZoneOfTheTiersSize(tierBytes: Int, min: Int, low: Int, high: Int) {
        let levels = Watermarks.defaults(tierBytes: tierBytes)
        #expect(levels == Watermarks.Levels(min: min, low: low, high: high))
        #expect(Watermarks(tierBytes: tierBytes).current == levels)
    }

    @Test(arguments: [2 << 20, 4 << 20, 14 << 20, 128 << 20, 3 << 30, 100 << 30, 4 << 40])
    func defaults_arePagesOneAndTwoEqualGapsApartBelowTheSize(tierBytes: Int) {
        let levels = Watermarks.defaults(tierBytes: tierBytes)
        let minKiB = levels.min / 1024
        // min is the largest page multiple not above 4·√KiB KiB.
        #expect(minKiB * minKiB <= 16 * (tierBytes / 1024))
        #expect(levels.min + 4096 > Int((16 * Double(tierBytes / 1024)).squareRoot()) * 1024)
        for level in [levels.min, levels.low, levels.high] { #expect(level % 4096 == 0) }
        let gap = levels.low - levels.min
        #expect(levels.high - levels.low == gap)
        #expect(gap >= levels.min / 4 - 4095 && gap >= tierBytes / 1000 - 4095)
        #expect(0 < levels.min && levels.min < levels.low && levels.high < tierBytes)
    }

    enum Level: String, CaseIterable, Sendable {
        case min, low, high
        var keyPath: WritableKeyPath<Watermarks.Levels, Int> {
            switch self {
            case .min: \.min
            case .low: \.low
            case .high: \.high
            }
        }
    }

    @Test(arguments: [
        (Level.min, 0, true), (.min, 229_376, true), (.min, 229_377, false), (.min, -1, false),
        (.low, 184_320, true), (.low, 274_432, true), (.low, 184_319, false), (.low, 274_433, false),
        (.high, 2 << 20, true), (.high, 229_376, true), (.high, (2 << 20) + 1, false), (.high, 229_375, false),
    ] as [(Level, Int, Bool)])
    func set_keepsMinLowHighInOrderWithinTheTier(level: Level, bytes: Int, accepted: Bool) {
        let watermarks = Watermarks(tierBytes: 2 << 20)  // 184,320 / 229,376 / 274,432
        let before = watermarks.current
        if accepted {
            #expect(throws: Never.self) { try watermarks.set(level.keyPath, to: bytes) }
            var expected = before
            expected[keyPath: level.keyPath] = bytes
            #expect(watermarks.current == expected)
        } else {
            #expect(throws: Errno.invalidArgument) { try watermarks.set(level.keyPath, to: bytes) }
            #expect(watermarks.current == before, "a refused store changes nothing")
        }
    }
}
