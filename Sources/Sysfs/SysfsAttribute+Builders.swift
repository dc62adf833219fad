import SystemPackage

extension FilePermissions {
    /// `0644`: everyone reads, root writes.
    public static let knob: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
    /// `0444`: everyone reads, nobody writes.
    public static let readOnlyKnob: FilePermissions = [.ownerRead, .groupRead, .otherRead]
}

extension SysfsAttribute {
    /// A `0444` attribute.
    public static func readOnly(_ name: String, show: @escaping @Sendable () -> String) -> SysfsAttribute {
        SysfsAttribute(name, mode: .readOnlyKnob, show: show)
    }

    /// A `0644` event counter: shows `%lu`, and any non-empty write resets it to 0.
    public static func counter(
        _ name: String,
        value: @escaping @Sendable () -> UInt64,
        reset: @escaping @Sendable () -> Void
    ) -> SysfsAttribute {
        SysfsAttribute(name, mode: .knob, show: { "\(value())\n" }, store: { _ in reset() })
    }

    /// A `0644` boolean knob: shows `0` or `1`, stores what `kstrtobool` takes (EINVAL for
    /// anything else). Its value is a setting a restart brings back.
    public static func boolean(
        _ name: String,
        get: @escaping @Sendable () -> Bool,
        set: @escaping @Sendable (Bool) -> Void
    ) -> SysfsAttribute {
        SysfsAttribute(name, mode: .knob, persistence: .shown, show: { get() ? "1\n" : "0\n" }, store: { (input) throws(Errno) in
            set(try kstrtobool(input))
        })
    }

    /// A `0644` unsigned knob parsed with `kstrtouint(…, 0)` and limited to `range` (EINVAL
    /// outside); `set` may refuse a value in range with its own errno (EAGAIN for a thread).
    /// Its value is a setting a restart brings back.
    public static func unsigned(
        _ name: String,
        range: ClosedRange<UInt32>,
        get: @escaping @Sendable () -> UInt32,
        set: @escaping @Sendable (UInt32) throws(Errno) -> Void
    ) -> SysfsAttribute {
        SysfsAttribute(name, mode: .knob, persistence: .shown, show: { "\(get())\n" }, store: { (input) throws(Errno) in
            let value = try kstrtouint(input, base: 0)
            guard range.contains(value) else { throw .invalidArgument }
            try set(value)
        })
    }
}
