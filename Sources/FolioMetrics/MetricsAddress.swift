import NIOCore

/// Where `[metrics] listen` serves: an IP address and a port, as `127.0.0.1:9464` or
/// `[::1]:9464`. A name (`localhost`) is refused: what it resolves to could change under the
/// daemon, and a monitoring endpoint is bound to an address the operator chose.
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    /// The IP address, without brackets.
    public var host: String
    public var port: Int

    /// The address `text` names, or nil when it is not `IPV4:PORT` or `[IPV6]:PORT` with a
    /// port from 1 to 65535.
    public init?(_ text: String) {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            port = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            // A bare IPv6 address is ambiguous with its port: brackets are required.
            guard !host.contains(":") else { return nil }
        }
        guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(port),
              (1...65535).contains(number) else { return nil }
        guard (try? SocketAddress(ipAddress: String(host), port: number)) != nil else { return nil }
        self.host = String(host)
        self.port = number
    }

    /// An address already known to be an IP literal (tests bind port 0: any free one).
    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// The socket address to bind.
    var socketAddress: SocketAddress {
        // Checked in init.
        try! SocketAddress(ipAddress: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
