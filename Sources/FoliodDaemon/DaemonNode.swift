import FolioMemory
import FolioProtocol
import FolioService
import Logging
import Migration
import Synchronization
import Sysfs
import SystemCalls
import Tiering

/// Builds everything the daemon serves from a checked config, as Hummingbird's template has
/// `buildApplication`: `foliod` calls it, and so do tests that run the service in-process on a
/// temporary socket, without FUSE or root. `configPath` names the file in errors and is what
/// SIGHUP re-reads.
public func buildDaemon(config: DaemonConfig, configPath: String) throws(DaemonConfig.Problem) -> DaemonNode {
    try DaemonNode(config: config, configPath: configPath)
}

/// Everything the daemon serves, built from a checked config: the tiers, the migration core
/// and its knob tree with `[knobs]` applied. `--check-config` builds one and stops there; the
/// daemon adds the socket (`serve`) and the mount.
public final class DaemonNode: Sendable {
    /// The tiers, in config order.
    public let tiers: [Tier]
    /// The migration core: drivers, slot and pipeline.
    public let core: MigrationCore
    /// The placement policy (`tiering/`).
    public let tiering: TieringPolicy
    /// The knob tree the daemon mounts.
    public let tree = SysfsTree()
    /// Who may attach.
    public let policy: AccessPolicy
    /// What clients may take.
    public let limits: ServiceLimits
    private let configPath: String
    private let applied: Mutex<[KnobSetting]>

    /// Builds the node; a `[knobs]` line the tree refuses fails with the file and line.
    init(config: DaemonConfig, configPath: String) throws(DaemonConfig.Problem) {
        self.configPath = configPath
        limits = config.limits
        do { policy = try AccessPolicy(group: config.group) } catch {
            throw DaemonConfig.Problem(description: "\(configPath): [daemon] group: \(error)")
        }
        tiers = config.tiers.enumerated().map { Tier(spec: $1, index: $0) }
        core = MigrationCore(dmaTimeout: config.dmaTimeout)
        core.registerKnobs(in: tree)
        tiering = TieringPolicy(pipeline: core.pipeline, tiers: tiers)
        tiering.registerTierKnobs(in: tree)
        tiering.registerKnobs(in: tree.directory("tiering"))
        do {
            try KnobApplier.apply(config.knobs, to: tree)
        } catch {
            throw DaemonConfig.Problem(description: "\(configPath):\(error.setting.line): [knobs] \(error)")
        }
        applied = Mutex(config.knobs)
    }

    /// Starts the socket service at `path` for this node's core and tiers.
    public func serve(socket path: String, logger: Logger = Logger(label: "foliod")) throws(SystemCallError) -> FolioServer {
        try serve(listener: .bind(path), logger: logger)
    }

    /// Starts the socket service on `listener`, adopting the `restoring` spaces first.
    public func serve(listener: FolioServer.Listener, events: SpaceEvents = .none, restoring: [StoredSpace] = [],
                      logger: Logger = Logger(label: "foliod")) throws(SystemCallError) -> FolioServer {
        try FolioServer(listener: listener, core: core, tiers: tiers, policy: policy, limits: limits, events: events, restoring: restoring,
                        tiering: tiering, logger: logger)
    }

    /// The `STATUS=` line systemd shows.
    var status: String {
        let stats = core.pipeline.statistics
        return "migrator \(core.slot.active.name); \(stats[.batches]) batches, \(stats[.foliosMigrated]) folios migrated"
    }

    /// What a SIGHUP changed: the lines stored, and the refusal that stopped it, if any.
    struct Reload {
        var applied: [KnobSetting]
        var refusal: KnobError?
    }

    /// Re-reads the file and stores the `[knobs]` lines whose value changed. A file that does
    /// not parse, or names a knob that does not exist or cannot be written, changes nothing
    /// (thrown); a value a knob refuses stops the reload there, with what was stored before it.
    func reloadKnobs() throws(DaemonConfig.Problem) -> Reload {
        let knobs = try DaemonConfig.load(configPath).knobs
        let previous = applied.withLock { $0 }
        let changed = knobs.filter { new in !previous.contains { $0.path == new.path && $0.value == new.value } }
        do {
            try KnobApplier.apply(changed, to: tree)
        } catch {
            remember(error.applied)
            return Reload(applied: error.applied, refusal: error)
        }
        remember(changed)
        return Reload(applied: changed, refusal: nil)
    }

    /// The tree's settings and the `[knobs]` lines in force: what the knob journal keeps.
    var journalContents: KnobJournal.Contents {
        KnobJournal.Contents(state: tree.settings(), config: applied.withLock { $0 })
    }

    /// Brings back what a previous instance journaled: its settings, then the `[knobs]` lines
    /// edited in the config since it stored them (a restart applies an edited line, as a
    /// reload would have). Returns what was still refused.
    func restore(_ stored: KnobJournal.Contents) -> [KnobError] {
        let refused = KnobApplier.restore(stored.state, to: tree)
        let edited = applied.withLock { $0 }.filter { line in !stored.config.contains { $0.path == line.path && $0.value == line.value } }
        return refused + KnobApplier.restore(edited, to: tree)
    }

    /// Records `settings` as the values in force, so the next reload compares against them.
    private func remember(_ settings: [KnobSetting]) {
        applied.withLock { applied in
            for setting in settings {
                applied.removeAll { $0.path == setting.path }
                applied.append(setting)
            }
        }
    }
}
