import DNSWire
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// GET requests against the API server over NIO, with TLS as the credentials say and the
/// bearer token (re-read when its file changes). One connection per request: a list page or a
/// watch; watches are long-lived and few (one per resource).
public final class KubeHTTPClient: Sendable {
    public struct HTTPError: Error, CustomStringConvertible, Sendable {
        public var status: Int
        public var body: String
        public var description: String { "HTTP \(status): \(body.prefix(300))" }
    }

    public struct ConnectionClosed: Error, CustomStringConvertible {
        public var description: String { "connection closed before the response ended" }
    }

    public struct ReadTimeout: Error, CustomStringConvertible {
        public var description: String { "no data from the API server within the read timeout" }
    }

    public enum Part: Sendable {
        case head(Int)
        case body(ByteBuffer)
    }

    public let credentials: KubeCredentials
    private let group: any EventLoopGroup
    private let tls: NIOSSLContext?
    private let token: TokenCache

    public init(credentials: KubeCredentials, group: any EventLoopGroup) throws {
        self.credentials = credentials
        self.group = group
        self.token = TokenCache(credentials.token)
        if credentials.useTLS {
            var config = TLSConfiguration.makeClientConfiguration()
            // Closing a watch should not wait long for the server's close_notify.
            config.shutdownTimeout = .milliseconds(300)
            if let ca = credentials.caPEM {
                config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if credentials.insecureSkipTLSVerify { config.certificateVerification = .none }
            if let cert = credentials.clientCertificatePEM, let key = credentials.clientKeyPEM {
                config.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                config.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
            tls = try NIOSSLContext(configuration: config)
        } else {
            tls = nil
        }
    }

    /// A whole response body (a list page). Non-2xx statuses throw `HTTPError` with the body.
    public func get(_ path: String, timeout: TimeAmount = .seconds(60)) async throws -> [UInt8] {
        var status = 0
        var body: [UInt8] = []
        for try await part in try await request(path, readTimeout: timeout) {
            switch part {
            case .head(let s): status = s
            case .body(var b): body += b.readBytes(length: b.readableBytes) ?? []
            }
        }
        guard (200..<300).contains(status) else { throw HTTPError(status: status, body: String(decoding: body, as: UTF8.self)) }
        return body
    }

    /// A streamed response, one element per line (watch events are newline-delimited JSON); a
    /// non-2xx status throws `HTTPError` before the first line. Where chunks split the stream
    /// does not matter: bytes are buffered until the newline.
    public func lines(_ path: String, readTimeout: TimeAmount) async throws -> AsyncThrowingStream<[UInt8], Error> {
        let parts = try await request(path, readTimeout: readTimeout)
        var iterator = parts.makeAsyncIterator()
        guard case .head(let status)? = try await iterator.next() else { throw ConnectionClosed() }
        if !(200..<300).contains(status) {
            var body: [UInt8] = []
            while let part = try await iterator.next() {
                if case .body(var b) = part { body += b.readBytes(length: b.readableBytes) ?? [] }
            }
            throw HTTPError(status: status, body: String(decoding: body, as: UTF8.self))
        }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
        let pump = Task { [iterator] in
            var iterator = iterator
            var pending: [UInt8] = []
            do {
                while let part = try await iterator.next() {
                    guard case .body(let buffer) = part else { continue }
                    buffer.withUnsafeReadableBytes { raw in pending.append(contentsOf: raw) }
                    var start = 0
                    while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                        if nl > start { continuation.yield(Array(pending[start..<nl])) }
                        start = nl + 1
                    }
                    pending.removeFirst(start)
                }
                if !pending.isEmpty { continuation.yield(pending) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in pump.cancel() }
        return stream
    }

    func request(_ path: String, readTimeout: TimeAmount) async throws -> AsyncThrowingStream<Part, Error> {
        let (stream, continuation) = AsyncThrowingStream<Part, Error>.makeStream()
        let c = credentials
        let tls = self.tls
        let sniHost: String? = IPAddress(c.host) == nil ? c.host : nil
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: sniHost))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(IdleStateHandler(readTimeout: readTimeout))
                    try sync.addHandler(ResponseHandler(continuation))
                }
            }
            .connect(host: c.host, port: c.port).get()
        continuation.onTermination = { _ in channel.close(promise: nil) }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: c.port == 443 || c.port == 80 ? c.host : "\(c.host):\(c.port)")
        headers.add(name: "Accept", value: "application/json")
        headers.add(name: "User-Agent", value: "clusterdns")
        if let t = token.current(), !t.isEmpty { headers.add(name: "Authorization", value: "Bearer \(t)") }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: c.pathPrefix + path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        return stream
    }
}

/// Moves the response into the stream; a connection that closes or goes quiet before the end
/// of the response is an error (a watch that stops without an end is not a clean end).
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let continuation: AsyncThrowingStream<KubeHTTPClient.Part, Error>.Continuation
    var done = false

    init(_ c: AsyncThrowingStream<KubeHTTPClient.Part, Error>.Continuation) { continuation = c }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): continuation.yield(.head(Int(head.status.code)))
        case .body(let b): continuation.yield(.body(b))
        case .end:
            done = true
            continuation.finish()
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { continuation.finish(throwing: KubeHTTPClient.ConnectionClosed()) }
        done = true
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done { continuation.finish(throwing: error) }
        done = true
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if !done { continuation.finish(throwing: KubeHTTPClient.ReadTimeout()) }
            done = true
            context.close(promise: nil)
        }
    }
}

/// Bound to its channel's event loop: never shared across threads.
@available(*, unavailable)
extension ResponseHandler: Sendable {}
