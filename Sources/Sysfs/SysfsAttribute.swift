import Synchronization
import SystemCalls
import SystemPackage

/// One knob: a name, a mode, and the `show`/`store` pair a kernel attribute has.
///
/// Locking: `show` and `store` run on whatever thread reads or writes; they guard their own
/// state. The event counter is the `kernfs_open_node.event` analogue: `notify()` bumps it and
/// calls the observers, which is how a poller learns that the value changed.
public final class SysfsAttribute: Sendable {
    /// `store` sees at most this many bytes of one write, as in kernfs (`PAGE_SIZE`).
    public static let pageSize = 4096

    /// The body of a `store`: gets the written value up to its first NUL.
    public typealias Store = @Sendable (String) throws(Errno) -> Void

    /// Whether the knob holds a setting that a restart must bring back, and how to write it.
    /// Counters, resets and views of another knob's setting (`<migrator>/offloading` shows
    /// the active migrator, which `migration/offload_migrator` holds) are not settings.
    public enum Persistence: Sendable {
        /// Nothing to keep.
        case none
        /// What `show` prints, less its newline, written back restores it.
        case shown
        /// This text, written back, restores it (when `show` prints more than a write takes).
        case value(@Sendable () -> String)
    }

    /// The file name within its directory.
    public let name: String
    /// The permission bits, e.g. `0o644`.
    public let mode: FilePermissions
    private let showBody: @Sendable () -> String
    private let storeBody: Store?
    /// Whether a restart brings this knob's setting back (`SysfsTree.settings()`).
    public let persistence: Persistence
    private let eventCounter = Atomic<UInt64>(0)
    private let observers = Mutex<[@Sendable (SysfsAttribute) -> Void]>([])

    /// An attribute; `store == nil` makes it read-only whatever its mode says.
    public init(_ name: String, mode: FilePermissions, persistence: Persistence = .none, show: @escaping @Sendable () -> String, store: Store? = nil) {
        precondition(!name.isEmpty && !name.contains("/"), "bad attribute name '\(name)'")
        self.name = name
        self.mode = mode
        self.persistence = persistence
        self.showBody = show
        self.storeBody = store
    }

    /// The text that, written back, restores this knob's setting; nil for a knob that holds
    /// none (or cannot be written).
    public var setting: String? {
        guard isWritable else { return nil }
        switch persistence {
        case .none: return nil
        case .shown:
            return showBody().withoutTrailingNewline
        case .value(let value): return value()
        }
    }

    /// Whether opening for write may succeed: a `store` and at least one write bit.
    public var isWritable: Bool {
        storeBody != nil && !mode.intersection([.ownerWrite, .groupWrite, .otherWrite]).isEmpty
    }

    /// Whether opening for read may succeed: at least one read bit.
    public var isReadable: Bool {
        !mode.intersection([.ownerRead, .groupRead, .otherRead]).isEmpty
    }

    /// The value as `cat` shows it, cut at `pageSize` like `sysfs_kf_seq_show()`.
    public func show() -> [UInt8] {
        let text = Array(showBody().utf8)
        return text.count > Self.pageSize ? Array(text.prefix(Self.pageSize)) : text
    }

    /// What one write did: the bytes it consumed or the errno it failed with, and what the
    /// attribute showed before and after (equal when nothing was stored).
    public struct WriteOutcome: Sendable {
        public var consumed: Result<Int, Errno>
        public var before: String
        public var after: String
    }

    /// One `write(2)`, as `kernfs_fop_write_iter()` handles it: at most `pageSize` bytes reach
    /// `store`, the value ends at its first NUL, and a zero-length write stores nothing. A
    /// store that changes the shown value notifies. Returns how many bytes the write consumed.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try writeReporting(bytes).consumed.get()
    }

    /// `write(_:)`, also telling what the attribute showed before and after (for a change log).
    public func writeReporting(_ bytes: UnsafeRawBufferPointer) -> WriteOutcome {
        // A store that changes what `show` reports wakes pollers, as drivers that call
        // sysfs_notify() from their store do; comparing the two shows keeps knobs from
        // having to remember to.
        let before = showBody()
        guard let storeBody else { return WriteOutcome(consumed: .failure(.permissionDenied), before: before, after: before) }
        let consumed = min(bytes.count, Self.pageSize)
        guard consumed > 0 else { return WriteOutcome(consumed: .success(0), before: before, after: before) }
        let capped = UnsafeRawBufferPointer(rebasing: bytes[..<consumed])
        let value = capped.firstIndex(of: 0).map { capped[..<$0] } ?? capped[...]
        do {
            try storeBody(String(decoding: value, as: UTF8.self))
        } catch {
            return WriteOutcome(consumed: .failure(error), before: before, after: before)
        }
        let after = showBody()
        if after != before { notify() }
        return WriteOutcome(consumed: .success(consumed), before: before, after: after)
    }

    /// A string write, for callers that are not a file descriptor (the config applier).
    public func write(_ value: String) throws(Errno) -> Int {
        let result = Array(value.utf8).withUnsafeBytes { bytes in
            Result { () throws(Errno) in try write(bytes) }
        }
        return try result.get()
    }

    /// The change counter; a reader that remembers it can tell whether a change came since.
    public var event: UInt64 { eventCounter.load(ordering: .acquiring) }

    /// The `sysfs_notify()` analogue: marks the value changed and wakes every observer.
    public func notify() {
        eventCounter.add(1, ordering: .releasing)
        for observer in observers.withLock({ $0 }) { observer(self) }
    }

    /// Registers `observer` to run after every `notify()`; a FUSE server wakes its pollers here.
    public func observe(_ observer: @escaping @Sendable (SysfsAttribute) -> Void) {
        observers.withLock { $0.append(observer) }
    }
}
