/// The text of a TOML file, kept to point errors at lines: TOMLKit reports where a parse
/// failed but not where a parsed key stands. The text is cut once into its tables.
struct ConfigSource {
    /// One `[name]` or `[[name]]` table: where its header is, and where each key is set.
    private struct Table {
        var name: String
        var isArray: Bool
        var headerLine: Int
        var keyLines: [String: Int] = [:]
    }

    let path: String
    private var tables = [Table(name: "", isArray: false, headerLine: 1)]

    init(path: String, text: String) {
        self.path = path
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop(while: \.isWhitespace)
            if line.hasPrefix("[") {
                let isArray = line.hasPrefix("[[")
                let name = line.dropFirst(isArray ? 2 : 1).prefix { $0 != "]" }.filter { !$0.isWhitespace }
                tables.append(Table(name: name, isArray: isArray, headerLine: index + 1))
            } else if let equals = line.firstIndex(of: "=") {
                var key = line[..<equals]
                while let last = key.last, last.isWhitespace { key = key.dropLast() }
                let bare = key.count >= 2 && (key.first == "\"" || key.first == "'") && key.last == key.first ? key.dropFirst().dropLast() : key
                tables[tables.count - 1].keyLines[String(bare)] = tables[tables.count - 1].keyLines[String(bare)] ?? index + 1
            }
        }
    }

    /// The 1-based line of the `[table]` header (1 if there is none).
    func line(ofTable table: String) -> Int {
        tables.first { $0.name == table && !$0.isArray }?.headerLine ?? 1
    }

    /// The 1-based line on which `key` is set inside `[table]`, or the header's line.
    func line(ofKey key: String, inTable table: String) -> Int {
        line(of: key, in: tables.first { $0.name == table && !$0.isArray })
    }

    /// The 1-based line on which `key` is set in the `index`-th `[[table]]`, or its header's line.
    func line(ofKey key: String, inArrayTable table: String, index: Int) -> Int {
        let matching = tables.filter { $0.name == table && $0.isArray }
        return line(of: key, in: matching.indices.contains(index) ? matching[index] : nil)
    }

    private func line(of key: String, in table: Table?) -> Int {
        guard let table else { return 1 }
        return table.keyLines[key] ?? table.headerLine
    }
}
