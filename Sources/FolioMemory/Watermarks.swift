import FolioSharedMemory
import Synchronization
import SystemPackage

/// A tier's free-byte watermarks, with the kernel's names and meaning: below `low` the tiering
/// policy starts demoting (kswapd wakes), and demotes until `high` is free again; an
/// allocation that would leave less than `min` free demotes first, in the allocating request
/// (direct reclaim).
///
/// Defaults follow `mm/page_alloc.c`: `min` is `4 × √(size in KiB)` KiB, as `min_free_kbytes`
/// is computed, and `low` and `high` sit one and two gaps above it, the gap being the larger of
/// `min / 4` and `watermark_scale_factor` (10, that is 0.1%) of the tier.
public final class Watermarks: Sendable {
    /// The three levels, in bytes.
    public struct Levels: Sendable, Equatable {
        public var min: Int
        public var low: Int
        public var high: Int
    }

    /// The tier's size: no watermark may exceed it.
    public let tierBytes: Int
    private let levels: Mutex<Levels>

    public init(tierBytes: Int) {
        self.tierBytes = tierBytes
        levels = Mutex(Self.defaults(tierBytes: tierBytes))
    }

    /// The kernel's defaults for a zone of `tierBytes`, each rounded down to 4 KiB.
    public static func defaults(tierBytes: Int) -> Levels {
        let page = FolioTableLayout.pageSize
        let minimum = Int(4 * Double(tierBytes / 1024).squareRoot()) * 1024 / page * page
        let gap = max(minimum / 4, tierBytes / 1000) / page * page
        return Levels(min: minimum, low: minimum + gap, high: minimum + 2 * gap)
    }

    /// The levels now.
    public var current: Levels { levels.withLock { $0 } }

    /// Sets one level; EINVAL unless `min ≤ low ≤ high ≤ size` still holds afterwards.
    public func set(_ level: WritableKeyPath<Levels, Int>, to bytes: Int) throws(Errno) {
        try levels.withLock { (levels) throws(Errno) in
            var changed = levels
            changed[keyPath: level] = bytes
            guard 0 <= changed.min, changed.min <= changed.low, changed.low <= changed.high, changed.high <= tierBytes else { throw .invalidArgument }
            levels = changed
        }
    }
}
