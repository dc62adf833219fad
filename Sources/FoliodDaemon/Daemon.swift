import FolioMemory
import FolioMetrics
import FolioProtocol
import FolioService
import FoundationEssentials
import Logging
import Migration
import Synchronization
import Sysfs
import SysfsFUSE
import SystemCalls

/// The daemon's life: check the config, build the migration core and its knob tree, apply
/// `[knobs]`, listen, mount, tell systemd, then serve signals until SIGTERM or SIGINT.
public enum Daemon {
    /// What the command line asked for.
    public struct Options: Sendable {
        public var configPath: String
        /// `--check-config`: validate everything, start nothing.
        public var checkOnly: Bool
        public var mount: String?
        public var socket: String?
        public var logLevel: String?

        public init(configPath: String, checkOnly: Bool = false, mount: String? = nil, socket: String? = nil, logLevel: String? = nil) {
            self.configPath = configPath
            self.checkOnly = checkOnly
            self.mount = mount
            self.socket = socket
            self.logLevel = logLevel
        }
    }

    /// Runs until SIGTERM or SIGINT; returns the process's exit status.
    public static func run(_ options: Options) -> Int32 {
        let signals = SignalWaiter(blocking: SignalWaiter.handled)
        let config: DaemonConfig
        let node: DaemonNode
        do {
            config = try DaemonConfig.load(options.configPath).overridden(mount: options.mount, socket: options.socket, logLevel: options.logLevel)
            node = try buildDaemon(config: config, configPath: options.configPath)
        } catch {
            return fail("foliod: \(error)")
        }
        if options.checkOnly {
            do {
                _ = try SocketPath.inspect(config.socket)
                try KnobMount.check(absolute(config.mount))
            } catch {
                return fail("foliod: \(error)")
            }
            print("\(options.configPath): ok (\(config.tiers.count) tiers, \(config.knobs.count) knob lines)")
            return 0
        }
        let logger = makeLogger(level: config.logLevel)
        for choice in config.nodeChoices + config.hugePageChoices { logger.notice("\(choice)") }
        // The metrics endpoint's connections (and its event loop's own descriptors) on top.
        let metricsDescriptors = config.metricsListen == nil ? 0 : MetricsEndpoint.maxConnections + 8
        ensureFileLimit(config.limits.fileDescriptors(tiers: config.tiers.count) + metricsDescriptors, logger: logger)
        let notifier = SystemdNotifier()
        var passed = PassedDescriptors.take()
        let journal = KnobJournal.open(passed: &passed, notifier: notifier)
        if let journal { restore(journal, on: node, logger: logger) }
        let leftMount = MountHandover.take(from: &passed)
        let store = SpaceStore(notifier: notifier, tiers: config.tiers, logger: logger)
        let restoring = store.stored(from: &passed)
        for (id, reason) in restoring.refused {
            logger.error("a stored space cannot be adopted: \(reason); its memory is released", metadata: ["space": "\(id)"])
            store.forget(id: id)
        }
        // The socket first: a daemon already serving it is the likeliest reason to stop, and
        // its mount would otherwise be reported as a busy mount point.
        let server: FolioServer
        let mount: KnobMount
        // Before the first client can migrate: every batch reaches the histograms.
        let histograms = config.metricsListen.map { _ in node.recordLatencies() }
        do {
            let listener = listenerSource(config.socket, passed: &passed, logger: logger)
            server = try node.serve(listener: listener, events: store.events, restoring: restoring.spaces, logger: logger)
        } catch {
            return fail("foliod: \(error)")
        }
        let metrics: MetricsEndpoint?
        do { metrics = try node.serveMetrics(config.metricsListen, histograms: histograms, server: server, logger: logger) } catch {
            // A restart that took spaces or a mount from the fd store must not fail for the
            // metrics port (another process may hold it for a moment): systemd would give up
            // after a few tries and release the store with every named space in it.
            if !restoring.spaces.isEmpty || leftMount.connection != nil {
                logger.error("the metrics endpoint is off until the next start: \(error)")
                metrics = nil
            } else {
                server.stop()
                return fail("foliod: \(error)")
            }
        }
        report(server.adoptions, store: store, logger: logger)
        for (name, fd) in passed.named {
            logger.warning("a descriptor passed at start is not foliod's; closed", metadata: ["name": "\(name)"])
            Posix.close(fd)
        }
        do {
            mount = try KnobMount(tree: node.tree, at: absolute(config.mount), adopting: leftMount.connection,
                                  predecessorLeftOne: leftMount.leftOne) { write in
                log(write, to: logger)
                // Every store, changed or not: of two racing writers the one whose store left
                // the value as it was must still be the last to record it.
                if write.refusal == nil { journal?.record { node.journalContents } }
            }
        } catch {
            metrics?.stop()
            server.stop()
            return fail("foliod: \(error)")
        }
        if mount.recoveredStaleMount { logger.notice("detached a stale mount a killed daemon left", metadata: ["mount": "\(mount.mountpoint)"]) }
        let mountKept = MountHandover.keep(mount, notifier: notifier, logger: logger)
        node.core.slot.onSwap { _, _ in notifier.status(node.status) }
        notifier.ready(status: node.status)
        let running = Atomic<Bool>(true)
        notifier.startHeartbeat(status: { node.status }) { running.load(ordering: .relaxed) }
        logger.info("serving", metadata: ["mount": "\(mount.mountpoint)", "socket": "\(config.socket)", "migrator": "\(node.core.slot.active.name)"])
        serveSignals(signals, node: node, journal: journal, logger: logger)
        notifier.stopping()
        running.store(false, ordering: .relaxed)
        metrics?.stop()
        server.stop()
        // Kept in the fd store, the mount stays for the next instance (the unit's ExecStopPost
        // unmounts it when the service is stopped for good); else it goes with this one.
        let clean = mountKept ? mount.handOver() : mount.unmount()
        logger.info("stopped", metadata: ["clean": "\(clean)", "mount": mountKept ? "kept for the next instance" : "unmounted"])
        return 0
    }

    /// Serves signals until SIGTERM or SIGINT; SIGHUP reloads `[knobs]`.
    private static func serveSignals(_ signals: SignalWaiter, node: DaemonNode, journal: KnobJournal?, logger: Logger) {
        while true {
            let signal = signals.next()
            guard signal == DaemonSystem.hangup else {
                logger.info("shutting down", metadata: ["signal": "\(signal)"])
                return
            }
            do {
                let reload = try node.reloadKnobs()
                if !reload.applied.isEmpty { journal?.record { node.journalContents } }
                let applied = reload.applied.map { "\($0.path)=\($0.value)" }.joined(separator: ",")
                if let refusal = reload.refusal {
                    let skipped = refusal.skipped.map { "\($0.path)=\($0.value)" }.joined(separator: ",")
                    logger.error(
                        "SIGHUP: [knobs] line \(refusal.setting.line) refused: \(refusal); \(reload.applied.isEmpty ? "nothing was applied" : "applied before it: \(applied)")",
                        metadata: ["applied": "\(applied)", "not_applied": "\(skipped)"]
                    )
                } else {
                    logger.notice("SIGHUP: [knobs] reloaded", metadata: ["applied": "\(applied)"])
                }
            } catch {
                logger.error("SIGHUP: \(error); nothing was applied")
            }
        }
    }

    /// The listening socket the service manager passed (socket activation), or one to bind at
    /// `path` when there is none.
    private static func listenerSource(_ path: String, passed: inout PassedDescriptors, logger: Logger) -> FolioServer.Listener {
        for (name, fd) in passed.take(where: { $0 != KnobJournal.storeName && !$0.hasPrefix("space-") && !MountHandover.names.contains($0) }) {
            if let socket = try? SeqpacketSocket.inherited(fd: fd) {
                logger.info("listening on the socket the service manager passed", metadata: ["name": "\(name)", "socket": "\(path)"])
                return .inherited(socket, path: path)
            }
            logger.warning("a descriptor passed at start is not a listening SOCK_SEQPACKET socket; closed", metadata: ["name": "\(name)"])
            Posix.close(fd)
        }
        return .bind(path)
    }

    /// Ends in the knob state a previous instance journaled (see `KnobJournal`), logs each
    /// knob that changed and each stored value a knob refused, and stores the state reached.
    private static func restore(_ journal: KnobJournal, on node: DaemonNode, logger: Logger) {
        let before = node.tree.settings()
        let refused = node.restore(journal.stored)
        for refusal in refused {
            logger.warning("a stored knob value was not restored: \(refusal)", metadata: ["knob": "\(refusal.setting.path)"])
        }
        for setting in node.tree.settings() where !before.contains(setting) {
            logger.notice("knob restored", metadata: ["knob": "\(setting.path)", "value": "\(setting.value)"])
        }
        // A value refused now (EAGAIN under a thread limit) stays the operator's: it is kept
        // for the next start rather than replaced by what the tree fell back to.
        journal.record {
            var contents = node.journalContents
            for refusal in refused {
                if let index = contents.state.firstIndex(where: { $0.path == refusal.setting.path }) { contents.state[index].value = refusal.setting.value }
            }
            return contents
        }
    }

    /// Logs what adopting each stored space gave; a space that could not be adopted leaves
    /// the store, so its memory is released.
    private static func report(_ adoptions: [FolioServer.Adoption], store: SpaceStore, logger: Logger) {
        for adoption in adoptions {
            let space: Logger.Metadata = ["space": "\(adoption.space.name)", "id": "\(adoption.space.id)", "owner": "\(adoption.space.owner)"]
            switch adoption.result {
            case .success(let report):
                logger.notice(
                    "adopted a stored space: \(report.folios) folios, \(report.bytes) bytes, \(report.thawed) thawed mid-migration, \(report.dropped) bad entries dropped",
                    metadata: space)
            case .failure(let error):
                logger.error("a stored space cannot be adopted: \(error); its memory is released", metadata: space)
                store.forget(id: adoption.space.id)
            }
        }
    }

    private static func log(_ write: KnobWrite, to logger: Logger) {
        let writer: Logger.Metadata = ["knob": "\(write.path)", "pid": "\(write.pid)", "uid": "\(write.uid)"]
        if let refusal = write.refusal {
            // The rejected input, and the value that stayed.
            logger.info("knob write refused: \(refusal.name)", metadata: writer.merging(["input": "\(write.input)", "value": "\(write.oldValue)"]) { $1 })
        } else if write.changed {
            logger.notice("knob changed", metadata: writer.merging(["old": "\(write.oldValue)", "new": "\(write.newValue)"]) { $1 })
        }
    }

    /// Raises the soft fd limit to what the limits need (as far as the hard limit allows) and
    /// warns when that is not enough: past it, clients are shed with EMFILE.
    private static func ensureFileLimit(_ needed: Int, logger: Logger) {
        let (soft, hard) = DaemonSystem.raiseFileLimit(to: needed)
        if soft < needed {
            logger.warning("the fd limit is below what [limits] need; clients past it get EMFILE", metadata: ["limit": "\(soft)", "hard": "\(hard)", "needed": "\(needed)"])
        }
    }

    private static func makeLogger(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { _ in JournalLogHandler() }
        var logger = Logger(label: "foliod")
        logger.logLevel = level
        return logger
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    private static func fail(_ message: String) -> Int32 {
        DaemonSystem.writeStandardError(message + "\n")
        return 1
    }
}
