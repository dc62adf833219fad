import FolioMemory
import FolioService
import Foundation
import Logging
import Migration
import Sysfs
import SysfsFUSE

/// The daemon's life: check the config, build the migration core and its knob tree, apply
/// `[knobs]`, mount, then wait for a signal and unmount.
enum Daemon {
    /// Runs until SIGTERM or SIGINT; returns the process's exit status.
    static func run(configPath: String, mountOverride: String?, socketOverride: String?, logLevelOverride: String?) -> Int32 {
        let signals = SignalWaiter(blocking: SignalWaiter.handled)
        var config: DaemonConfig
        do {
            config = try DaemonConfig.load(configPath)
            try applyOverrides(to: &config, mount: mountOverride, socket: socketOverride, logLevel: logLevelOverride)
        } catch {
            return fail("foliod: \(error)")
        }
        let logger = makeLogger(level: config.logLevel)
        let core = MigrationCore(dmaTimeout: config.dmaTimeout)
        let tiers = config.tiers.enumerated().map { Tier(spec: $1, index: $0) }
        let tree = SysfsTree()
        core.registerKnobs(in: tree, tiers: tiers)
        do {
            try KnobApplier.apply(config.knobs, to: tree)
        } catch {
            return fail("foliod: \(configPath):\(error.setting.line): [knobs] \(error)")
        }
        // The socket first: a daemon already serving it is the likeliest reason to stop, and
        // its mount would otherwise be reported as a busy mount point.
        let server: FolioServer
        do {
            server = try FolioServer(path: config.socket, core: core, tiers: tiers)
        } catch {
            return fail("foliod: \(error)")
        }
        let mount: KnobMount
        do {
            mount = try KnobMount(tree: tree, at: absolute(config.mount))
        } catch {
            server.stop()
            return fail("foliod: \(error)")
        }
        logger.info("serving", metadata: ["mount": "\(mount.mountpoint)", "socket": "\(config.socket)", "migrator": "\(core.slot.active.name)"])
        waitForStop(signals, configPath: configPath, applied: config.knobs, tree: tree, logger: logger)
        server.stop()
        let clean = mount.unmount()
        logger.info("stopped", metadata: ["clean": "\(clean)"])
        return 0
    }

    /// Serves signals until SIGTERM or SIGINT; SIGHUP re-reads the file and stores the
    /// `[knobs]` lines whose value changed since they were last applied.
    private static func waitForStop(_ signals: SignalWaiter, configPath: String, applied: [KnobSetting], tree: SysfsTree, logger: Logger) {
        var applied = applied
        while true {
            let signal = signals.next()
            guard signal == SIGHUP else {
                logger.info("shutting down", metadata: ["signal": "\(signal)"])
                return
            }
            do {
                let knobs = try DaemonConfig.load(configPath).knobs
                let changed = knobs.filter { new in !applied.contains { $0.path == new.path && $0.value == new.value } }
                try KnobApplier.apply(changed, to: tree)
                applied = knobs
                logger.info("SIGHUP: [knobs] reloaded", metadata: ["changed": "\(changed.map(\.path))"])
            } catch {
                logger.error("SIGHUP: \(configPath): \(error); keeping the knobs as they are")
            }
        }
    }

    private static func applyOverrides(to config: inout DaemonConfig, mount: String?, socket: String?, logLevel: String?) throws(DaemonConfig.Problem) {
        if let mount { config.mount = mount }
        if let socket { config.socket = socket }
        guard !config.tiers.isEmpty else { throw DaemonConfig.Problem(description: "no [[tiers]] in the config: at least one is needed") }
        if let logLevel {
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw DaemonConfig.Problem(description: "--log-level: unknown level '\(logLevel)'")
            }
            config.logLevel = level
        }
    }

    private static func makeLogger(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
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
