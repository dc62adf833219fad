import FoundationEssentials
import Logging

/// One line per event on standard error. Under journald (`$JOURNAL_STREAM` set) each line
/// starts with its syslog priority (`<6>`), which journald turns into the entry's level;
/// elsewhere with the level's name.
struct JournalLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    private let journal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }
            .sorted { $0.key < $1.key }
            .map { " \($0.key)=\(Self.quoted("\($0.value)"))" }
            .joined()
        let prefix = journal ? "<\(Self.priority(event.level))>" : "\(event.level.rawValue): "
        let line = prefix + event.message.description.replacing("\n", with: " ") + fields + "\n"
        DaemonSystem.writeStandardError(line)
    }

    /// A value as `key=value` shows it: quoted when it has spaces or is empty.
    static func quoted(_ value: String) -> String {
        value.isEmpty || value.contains(" ") ? "\"\(value)\"" : value
    }

    /// The syslog priority journald reads from the `<N>` prefix.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
