import DNSResponder
import Forwarding
import Logging
import NIOCore
import NIOPosix
import RecordIndex
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The UDP and TCP listeners on every configured address. UDP uses one socket per event loop
/// with SO_REUSEPORT so the kernel spreads datagrams over all cores; TCP has one listener whose
/// connections are spread over the same loops.
public final class DNSServer: Sendable {
    public let configuration: ServerConfiguration
    public let counters = ServerCounters()
    public let metrics: DNSMetrics
    private let store: SnapshotStore
    private let processor: QueryProcessor
    /// Names outside our zones go here; nil: they are REFUSED.
    public let forwarder: Forwarder?
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let channels = Mutex<[Channel]>([])

    public init(configuration: ServerConfiguration, store: SnapshotStore, group: MultiThreadedEventLoopGroup,
                metrics: DNSMetrics, forwarding: ForwardConfiguration? = nil, logger: Logger) throws {
        self.configuration = configuration
        self.metrics = metrics
        self.store = store
        let processor = QueryProcessor(udpSize: configuration.udpSize, forwarding: forwarding != nil)
        self.processor = processor
        self.forwarder = try forwarding.map { try Forwarder(configuration: $0, processor: processor, group: group, logger: logger) }
        self.group = group
        self.logger = logger
    }

    /// Binds every listener. Returns the bound addresses (useful when a port was 0).
    @discardableResult
    public func start() async throws -> [ServerConfiguration.Endpoint] {
        var bound: [ServerConfiguration.Endpoint] = []
        forwarder?.start()
        for endpoint in configuration.listen {
            // With port 0 the UDP socket picks a port the TCP listener may find taken: try again.
            var attempts = endpoint.port == 0 ? 5 : 1
            while true {
                attempts -= 1
                do {
                    bound.append(try await bind(endpoint))
                    break
                } catch where attempts > 0 {
                    continue
                }
            }
        }
        return bound
    }

    private func bind(_ endpoint: ServerConfiguration.Endpoint) async throws -> ServerConfiguration.Endpoint {
        var opened: [Channel] = []
        do {
            var port = endpoint.port
            // UDP first: with port 0 the first socket picks the port and the rest share it.
            let loops = Array(group.makeIterator())
            let sockets = configuration.udpSocketsPerAddress ?? loops.count
            for i in 0..<max(1, sockets) {
                let channel = try await udpBootstrap(loops[i % loops.count], endpoint).bind(host: endpoint.host, port: port).get()
                if port == 0 { port = channel.localAddress?.port ?? 0 }
                opened.append(channel)
            }
            opened.append(try await tcpBootstrap(endpoint).bind(host: endpoint.host, port: port).get())
            channels.withLock { $0 += opened }
            let actual = ServerConfiguration.Endpoint(host: endpoint.host, port: port)
            logger.info("listening", metadata: ["address": "\(actual)", "udp_sockets": "\(sockets)"])
            return actual
        } catch {
            for c in opened { try? await c.close().get() }
            throw error
        }
    }

    /// Closes every listener. Answers already decided are written first; a forwarded query still
    /// waiting for its upstream when its listener closes gets no reply (the client retries).
    public func stop() async {
        forwarder?.stop()
        let all = channels.withLock { c -> [Channel] in
            defer { c = [] }
            return c
        }
        for channel in all {
            try? await channel.close().get()
        }
    }

    static let batch = 32

    private func udpBootstrap(_ loop: EventLoop, _ endpoint: ServerConfiguration.Endpoint) -> DatagramBootstrap {
        let store = self.store, processor = self.processor, counters = self.counters, forwarder = self.forwarder
        let metrics = self.metrics, logger = self.logger, logQueries = configuration.logQueries, loadBalance = configuration.loadBalance
        return DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
            // Bursts: a larger receive buffer, and up to 64 datagrams per read call (recvmmsg).
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            // NIO splits one receive buffer across the batch: 2 KiB per datagram holds any query
            // a client sends without fragmentation.
            .channelOption(.datagramVectorReadMessageCount, value: Self.batch)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.batch * 2048))
            .channelOption(.maxMessagesPerRead, value: 4)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let recorder = metrics.recorder(server: "\(endpoint)", proto: "udp", logger: logger, logQueries: logQueries,
                                                    loop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(UDPQueryHandler(
                        store: store, processor: processor, counters: counters, recorder: recorder, forwarder: forwarder,
                        loadBalance: loadBalance, allocator: channel.allocator))
                }
            }
    }

    private func tcpBootstrap(_ endpoint: ServerConfiguration.Endpoint) -> ServerBootstrap {
        let store = self.store, processor = self.processor, counters = self.counters, forwarder = self.forwarder
        let config = configuration
        // One recorder per event loop for the connections of this listener: no lock between them.
        let recorders = group.makeIterator().map { loop in
            (loop, metrics.recorder(server: "\(endpoint)", proto: "tcp", logger: logger, logQueries: configuration.logQueries, loop: loop))
        }
        let idle = TimeAmount.seconds(config.tcpIdleTimeout)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 << 10, high: 64 << 10))
            .childChannelInitializer { channel in
                // RFC 7766 §10: a cap on connections; over it, close at once.
                let open = counters.tcpOpen.wrappingAdd(1, ordering: .relaxed).newValue
                guard open <= config.maxTCPConnections else {
                    counters.tcpOpen.subtract(1, ordering: .relaxed)
                    counters.tcpRejected.add(1, ordering: .relaxed)
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let recorder = recorders.first { $0.0 === channel.eventLoop }?.1 ?? recorders[0].1
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(readTimeout: idle))
                    try sync.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                    try sync.addHandler(TCPQueryHandler(store: store, processor: processor, counters: counters, recorder: recorder,
                                                        forwarder: forwarder, maxQueries: config.maxQueriesPerConnection, stallTimeout: idle,
                                                        loadBalance: config.loadBalance, allocator: channel.allocator))
                }
            }
    }
}
