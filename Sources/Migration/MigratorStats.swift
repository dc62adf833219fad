import Synchronization

/// A migrator's counters; the `folios_migrated` and `folios_failures` knobs show them.
public final class MigratorStats: Sendable {
    private let migrated = Atomic<UInt64>(0)
    private let failures = Atomic<UInt64>(0)

    public init() {}

    /// Folios this migrator copied.
    public var foliosMigrated: UInt64 { migrated.load(ordering: .relaxed) }
    /// Folios this migrator failed to copy, which the fallback copied instead.
    public var foliosFailures: UInt64 { failures.load(ordering: .relaxed) }

    /// Counts one batch's outcome.
    public func record(migrated copied: Int, failed: Int) {
        if copied > 0 { migrated.add(UInt64(copied), ordering: .relaxed) }
        if failed > 0 { failures.add(UInt64(failed), ordering: .relaxed) }
    }

    /// Zeroes `folios_migrated` (any write to the knob).
    public func resetMigrated() { migrated.store(0, ordering: .relaxed) }
    /// Zeroes `folios_failures` (any write to the knob).
    public func resetFailures() { failures.store(0, ordering: .relaxed) }
}
