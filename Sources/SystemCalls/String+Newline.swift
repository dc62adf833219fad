extension String {
    /// The text without the one newline a knob's value (or a /proc or /sys file) ends with;
    /// nothing else is trimmed.
    public var withoutTrailingNewline: String {
        hasSuffix("\n") ? String(dropLast()) : self
    }
}
