import FolioMemory
import FolioService
import Foundation
import Logging
import Migration
import Synchronization
import Sysfs
import SysfsFUSE

/// The daemon's life: check the config, build the migration core and its knob tree, apply
/// `[knobs]`, listen, mount, tell systemd, then serve signals until SIGTERM or SIGINT.
enum Daemon {
    /// What the command line asked for.
    struct Options {
        var configPath: String
        /// `--check-config`: validate everything, start nothing.
        var checkOnly = false
        var mount: String?
        var socket: String?
        var logLevel: String?
    }

    /// Runs until SIGTERM or SIGINT; returns the process's exit status.
    static func run(_ options: Options) -> Int32 {
        let signals = SignalWaiter(blocking: SignalWaiter.handled)
        let config: DaemonConfig
        let node: DaemonNode
        do {
            config = try DaemonConfig.load(options.configPath).overridden(mount: options.mount, socket: options.socket, logLevel: options.logLevel)
            node = try DaemonNode(config: config, configPath: options.configPath)
        } catch {
            return fail("foliod: \(error)")
        }
        if options.checkOnly {
            print("\(options.configPath): ok (\(config.tiers.count) tiers, \(config.knobs.count) knob lines)")
            return 0
        }
        let logger = makeLogger(level: config.logLevel)
        let notifier = SystemdNotifier()
        // The socket first: a daemon already serving it is the likeliest reason to stop, and
        // its mount would otherwise be reported as a busy mount point.
        let server: FolioServer
        let mount: KnobMount
        do {
            server = try FolioServer(path: config.socket, core: node.core, tiers: node.tiers, policy: node.policy, limits: config.limits)
        } catch {
            return fail("foliod: \(error)")
        }
        do {
            mount = try KnobMount(tree: node.tree, at: absolute(config.mount)) { write in log(write, to: logger) }
        } catch {
            server.stop()
            return fail("foliod: \(error)")
        }
        node.core.slot.onSwap { notifier.status(node.status) }
        notifier.ready(status: node.status)
        let running = Atomic<Bool>(true)
        notifier.startHeartbeat(status: { node.status }) { running.load(ordering: .relaxed) }
        logger.info("serving", metadata: ["mount": "\(mount.mountpoint)", "socket": "\(config.socket)", "migrator": "\(node.core.slot.active.name)"])
        serveSignals(signals, node: node, logger: logger)
        notifier.stopping()
        running.store(false, ordering: .relaxed)
        server.stop()
        let clean = mount.unmount()
        logger.info("stopped", metadata: ["clean": "\(clean)"])
        return 0
    }

    /// Serves signals until SIGTERM or SIGINT; SIGHUP reloads `[knobs]`.
    private static func serveSignals(_ signals: SignalWaiter, node: DaemonNode, logger: Logger) {
        while true {
            let signal = signals.next()
            guard signal == DaemonSystem.hangup else {
                logger.info("shutting down", metadata: ["signal": "\(signal)"])
                return
            }
            do {
                let changed = try node.reloadKnobs()
                logger.notice("SIGHUP: [knobs] reloaded", metadata: ["changed": "\(changed.map { "\($0.path)=\($0.value)" })"])
            } catch {
                logger.error("SIGHUP: \(error); the knobs stay as they were")
            }
        }
    }

    private static func log(_ write: KnobWrite, to logger: Logger) {
        let metadata: Logger.Metadata = ["knob": "\(write.path)", "old": "\(write.oldValue)", "new": "\(write.newValue)", "pid": "\(write.pid)", "uid": "\(write.uid)"]
        if let refusal = write.refusal {
            logger.info("knob write refused: \(refusal.name)", metadata: metadata)
        } else if write.changed {
            logger.notice("knob changed", metadata: metadata)
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
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return 1
    }
}
