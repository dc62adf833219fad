import FoliodDaemon
import FolioService
import Foundation

/// The daemon's service core built in this process with `buildDaemon` and served on a
/// temporary socket: no FUSE, no root, no second process.
public final class InProcessDaemon {
    /// Two tiers (16 and 8 MiB), batches of 4, two named spaces per uid.
    public static let defaultConfig = """
        [daemon]
        log_level = "warning"

        [limits]
        named_spaces_per_uid = 2

        [[tiers]]
        name = "fast"
        size = "16M"

        [[tiers]]
        name = "slow"
        size = "8m"

        [knobs]
        "migration/batch_size" = 4
        """

    public let directory = FileManager.default.temporaryDirectory.appendingPathComponent("foliod-core-\(UUID().uuidString.prefix(8))").path
    public let node: DaemonNode
    public let server: FolioServer
    public var socket: String { directory + "/foliod.sock" }

    public init(config text: String = InProcessDaemon.defaultConfig) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        node = try buildDaemon(config: try DaemonConfig.parse(text, path: "test.toml").overridden(), configPath: "test.toml")
        server = try node.serve(socket: directory + "/foliod.sock")
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
