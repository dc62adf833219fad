import FolioProtocol
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import SystemCalls
import SystemPackage

/// Why the endpoint could not start: the address, and the errno `bind` or `listen` gave.
public struct MetricsError: Error, CustomStringConvertible {
    public var address: MetricsAddress
    public var errno: Errno?
    public var reason: String

    public var description: String {
        let cause = errno.map { "\($0) (\($0.name))" } ?? reason
        return "[metrics] listen = \"\(address)\": cannot listen there: \(cause)"
    }
}

/// `GET /metrics` over HTTP/1.1 (SwiftNIO's parser and encoder), answered with
/// `MetricsExposition` of the stats reply `stats` returns.
///
/// Its own event loop, one NIO thread: the HTTP server takes nothing from the daemon's threads
/// (the accept and session threads, the FUSE loop, the copy workers) nor from Swift's
/// cooperative pool. `stop()` closes the listener and every connection and returns once that
/// thread has ended: a scrape in flight is answered or dropped, never waited for long.
public final class MetricsEndpoint: Sendable {
    /// Connections served at once; the next is closed as soon as it is accepted. Scrapers
    /// need one or two: the cap keeps a peer that opens thousands from taking the daemon's
    /// descriptors, which its clients' sessions need.
    public static let maxConnections = 64
    /// A connection with no request for this long is closed (a Prometheus scraping every
    /// minute keeps its connection; one that connects and sends nothing does not).
    public static let idleTimeout = TimeAmount.seconds(120)

    /// The address it listens on.
    public let address: MetricsAddress
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    private init(address: MetricsAddress, group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.address = address
        self.group = group
        self.channel = channel
    }

    /// Listens on `address` now (so a port in use fails here, at start-up) and serves until
    /// `stop()`. Each scrape calls `stats` on the endpoint's own thread.
    public static func start(at address: MetricsAddress, histograms: LatencyHistograms? = nil,
                             stats: @escaping @Sendable () -> FolioStats) throws(MetricsError) -> MetricsEndpoint {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let render: @Sendable () -> [UInt8] = { MetricsExposition.render(stats(), histograms: histograms) }
        let open = ConnectionCount()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            // A daemon restarted while its last scrape's connection is in TIME_WAIT binds again.
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard open.enter() else { return channel.close() }
                channel.closeFuture.whenComplete { _ in open.leave() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(render: render))
                }
            }
        do {
            let channel = try bootstrap.bind(to: address.socketAddress).wait()
            return MetricsEndpoint(address: address, group: group, channel: channel)
        } catch {
            try? group.syncShutdownGracefully()
            if let error = error as? IOError { throw MetricsError(address: address, errno: Errno(rawValue: error.errnoCode), reason: "\(error)") }
            throw MetricsError(address: address, errno: nil, reason: "\(error)")
        }
    }

    /// The port it listens on.
    public var port: Int { channel.localAddress?.port ?? address.port }

    /// Closes the listener and every connection, and ends the endpoint's thread.
    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// The endpoint's open connections, against `maxConnections`.
private final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    func enter() -> Bool {
        guard count.add(1, ordering: .relaxed).newValue <= MetricsEndpoint.maxConnections else {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() { count.subtract(1, ordering: .relaxed) }
}

/// One connection's requests: `GET` or `HEAD` of `/metrics` (a query string is ignored), `/`
/// says where the metrics are, anything else is 404, another method on `/metrics` 405.
private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> [UInt8]
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> [UInt8]) {
        self.render = render
    }

    /// The idle timeout fired: nothing came for `idleTimeout`.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        var status = HTTPResponseStatus.ok
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]
        var headers = HTTPHeaders()
        switch (head.method, path) {
        case (.GET, "/metrics"), (.HEAD, "/metrics"):
            contentType = MetricsExposition.contentType
            body = render()
        case (_, "/metrics"):
            status = .methodNotAllowed
            headers.add(name: "Allow", value: "GET, HEAD")
            body = Array("only GET and HEAD\n".utf8)
        case (.GET, "/"), (.HEAD, "/"):
            body = Array("foliod: the metrics are at /metrics\n".utf8)
        default:
            status = .notFound
            body = Array("not found: the metrics are at /metrics\n".utf8)
        }
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
