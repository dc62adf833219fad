/// The text of a TOML file, kept to point errors at lines: TOMLKit reports where a parse
/// failed but not where a parsed key stands.
struct ConfigSource {
    let path: String
    let lines: [Substring]

    init(path: String, text: String) {
        self.path = path
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The 1-based line of the `[table]` header (1 if there is none).
    func line(ofTable table: String) -> Int {
        let index = lines.firstIndex { line in
            let text = line.drop(while: \.isWhitespace)
            return text.hasPrefix("[") && text.dropFirst().prefix { $0 != "]" }.filter { !$0.isWhitespace } == table
        }
        return index.map { $0 + 1 } ?? 1
    }

    /// The 1-based line on which `key` is assigned in the `index`-th `[[table]]` (or that
    /// table's header line when the key is not there).
    func line(ofKey key: String, inArrayTable table: String, index: Int) -> Int {
        var seen = -1
        var header = 1
        for (number, raw) in lines.enumerated() {
            let line = raw.drop(while: \.isWhitespace)
            if line.hasPrefix("[") {
                if line.hasPrefix("[[") && line.dropFirst(2).prefix(while: { $0 != "]" }).filter({ !$0.isWhitespace }) == table {
                    seen += 1
                    if seen == index { header = number + 1 }
                } else if seen == index {
                    break
                }
                continue
            }
            guard seen == index, let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingSuffix(while: \.isWhitespace)
            if name == key || name == "\"\(key)\"" { return number + 1 }
        }
        return header
    }

    /// The 1-based line on which `key` is assigned inside `[table]`, or the table's header
    /// line when the key is not found there.
    func line(ofKey key: String, inTable table: String) -> Int {
        var current = ""
        var header = 1
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingPrefix(while: \.isWhitespace)
            if line.hasPrefix("[") {
                current = String(line.dropFirst().prefix { $0 != "]" }).filter { !$0.isWhitespace }
                if current == table { header = index + 1 }
                continue
            }
            guard current == table, let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingSuffix(while: \.isWhitespace)
            if name == key || name == "\"\(key)\"" || name == "'\(key)'" { return index + 1 }
        }
        return header
    }
}

private extension Substring {
    func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        drop(while: predicate)
    }

    func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var result = self
        while let last = result.last, predicate(last) { result = result.dropLast() }
        return result
    }
}
