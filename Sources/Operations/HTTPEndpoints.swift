import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One reply of an operations endpoint.
public struct HTTPReply: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: String

    public init(_ status: HTTPResponseStatus, _ body: String, contentType: String = "text/plain; charset=utf-8") {
        self.status = status
        self.body = body
        self.contentType = contentType
    }
}

/// The small HTTP listeners for `/health`, `/ready` and `/metrics`, each on its own address as
/// CoreDNS has them (8080, 8181, 9153), so a probe and a scrape never share a port with DNS or
/// with each other. GET and HEAD only; everything else 404 or 405.
public final class HTTPEndpoints: Sendable {
    public typealias Route = @Sendable () -> HTTPReply

    private let group: any EventLoopGroup
    private let logger: Logger
    private let channels = Mutex<[Channel]>([])

    public init(group: any EventLoopGroup, logger: Logger) {
        self.group = group
        self.logger = logger
    }

    /// Binds `host:port` serving `routes` (path → reply). Returns the bound port.
    @discardableResult
    public func start(host: String, port: Int, routes: [String: Route]) async throws -> Int {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
                    try sync.addHandler(RouteHandler(routes: routes))
                }
            }
            .bind(host: host, port: port).get()
        channels.withLock { $0.append(channel) }
        let bound = channel.localAddress?.port ?? port
        logger.info("http listening", metadata: ["address": "\(host.contains(":") ? "[\(host)]" : host):\(bound)",
                                                 "paths": "\(routes.keys.sorted().joined(separator: ","))"])
        return bound
    }

    public func stop() async {
        let all = channels.withLock { c -> [Channel] in
            defer { c = [] }
            return c
        }
        for c in all { try? await c.close().get() }
    }
}

final class RouteHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let routes: [String: HTTPEndpoints.Route]
    private var request: HTTPRequestHead?

    init(routes: [String: HTTPEndpoints.Route]) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(context, head)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let reply: HTTPReply
        if let route = routes[path] {
            reply = head.method == .GET || head.method == .HEAD ? route() : HTTPReply(.methodNotAllowed, "method not allowed\n")
        } else {
            reply = HTTPReply(.notFound, "not found; try \(routes.keys.sorted().joined(separator: " "))\n")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: "\(reply.body.utf8.count)")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: reply.body)))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            done.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        }
    }
}

/// Bound to its channel's event loop: never shared across threads.
@available(*, unavailable)
extension RouteHandler: Sendable {}
