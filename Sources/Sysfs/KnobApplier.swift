import SystemCalls
import SystemPackage

/// One `"path" = value` line of a config file's `[knobs]` table.
public struct KnobSetting: Sendable, Equatable {
    /// The knob's path in the tree, e.g. `dcbm/offloading`.
    public var path: String
    /// The value as it is written to the knob.
    public var value: String
    /// The line of the config file it came from, for the error message.
    public var line: Int

    public init(path: String, value: String, line: Int) {
        self.path = path
        self.value = value
        self.line = line
    }
}

/// A knob line that the tree refused, with the errno a shell `echo` would have seen, and which
/// lines of the same batch were stored before it.
public struct KnobError: Error, CustomStringConvertible, Equatable {
    /// The refused line.
    public var setting: KnobSetting
    /// Why: ENOENT for an unknown knob, EACCES for a read-only one, else the `store`'s answer.
    public var errno: Errno
    /// Lines stored before the refusal (empty when it was found before storing anything).
    public var applied: [KnobSetting] = []
    /// Lines after the refused one, not tried.
    public var skipped: [KnobSetting] = []

    public var description: String {
        "\(setting.path) = \"\(setting.value)\": \(errno) (\(errno.name))"
    }
}

/// Stores `[knobs]` lines through the same `write` path a FUSE write takes, so a bad value
/// fails with the errno the shell would print.
public enum KnobApplier {
    /// Brings back `settings` (what `SysfsTree.settings()` gave), skipping knobs that hold
    /// their value already. A setting refused in one pass is tried again in the next, as long
    /// as a pass makes progress: knobs that constrain each other (watermarks, min ≤ low ≤ high)
    /// settle whatever the order. Returns what was still refused, for the log.
    public static func restore(_ settings: [KnobSetting], to tree: SysfsTree) -> [KnobError] {
        var pending = settings.filter { setting in
            (try? tree.attribute(setting.path).setting) != setting.value
        }
        while !pending.isEmpty {
            var refused: [KnobError] = []
            for setting in pending {
                do throws(KnobError) { try apply([setting], to: tree) } catch { refused.append(error) }
            }
            if refused.count == pending.count { return refused }
            pending = refused.map(\.setting)
        }
        return []
    }

    /// Applies `settings` in order. Every line's knob must exist and be writable before any is
    /// stored, so a misspelt or read-only knob changes nothing. A store that then fails (a bad
    /// value, EBUSY) stops there; the error lists what was stored before it.
    public static func apply(_ settings: [KnobSetting], to tree: SysfsTree) throws(KnobError) {
        var attributes: [SysfsAttribute] = []
        for setting in settings {
            do throws(Errno) {
                let attribute = try tree.attribute(setting.path)
                guard attribute.isWritable else { throw Errno.permissionDenied }
                attributes.append(attribute)
            } catch {
                throw KnobError(setting: setting, errno: error)
            }
        }
        for (index, (setting, attribute)) in zip(settings, attributes).enumerated() {
            do throws(Errno) {
                _ = try attribute.write(setting.value)
            } catch {
                throw KnobError(setting: setting, errno: error, applied: Array(settings[..<index]), skipped: Array(settings[(index + 1)...]))
            }
        }
    }
}
