import CDatagram
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

/// The UDP and TCP listeners on every configured address. UDP has one socket per core, each
/// served by its own thread (`UDPListener`), with SO_REUSEPORT so the kernel spreads datagrams
/// over them; TCP has one listener whose connections are spread over the event loops.
public final class DNSServer: Sendable {
    public let configuration: ServerConfiguration
    public let counters = ServerCounters()
    public let metrics: DNSMetrics
    private let store: SnapshotStore
    /// The long way of a query, shared by the UDP and TCP listeners.
    private let dispatch: QueryDispatch
    private var processor: QueryProcessor { dispatch.processor }
    /// Names outside our zones go here; nil: they are REFUSED.
    public var forwarder: Forwarder? { dispatch.forwarder }
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let channels = Mutex<[Channel]>([])
    private let udp = Mutex<[UDPListener]>([])

    public init(configuration: ServerConfiguration, store: SnapshotStore, group: MultiThreadedEventLoopGroup,
                metrics: DNSMetrics, forwarding: ForwardConfiguration? = nil, logger: Logger) throws {
        self.configuration = configuration
        self.metrics = metrics
        self.store = store
        var processor = QueryProcessor(udpSize: configuration.udpSize, forwarding: forwarding != nil, autopath: configuration.autopath,
                                       filterAAAA: configuration.filterAAAA, plugins: configuration.plugins)
        processor.reverseFallthrough = configuration.reverseFallthrough
        processor.forwardedInside = forwarding == nil ? [] : configuration.forwardedInside
        let forwarder = try forwarding.map { try Forwarder(configuration: $0, group: group, logger: logger) }
        dispatch = QueryDispatch(processor: processor, forwarder: forwarder, counters: counters)
        self.group = group
        self.logger = logger
    }

    /// What autopath and the AAAA filter did; nil when neither is on.
    public var searchCounters: SearchCounters? {
        configuration.autopath || configuration.filterAAAA ? processor.searchCounters : nil
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
        var listeners: [UDPListener] = []
        do {
            var port = endpoint.port
            // UDP first: with port 0 the first socket picks the port and the rest share it.
            let loops = Array(group.makeIterator())
            // One per core the process may run on: two threads pinned to one core only wait on
            // each other (the scheduler's time slice shows in the latency tail).
            let cpus = Int(cdns_affinity_cpus())
            let sockets = max(1, configuration.udpSocketsPerAddress ?? (cpus > 0 ? min(loops.count, cpus) : loops.count))
            for i in 0..<sockets {
                let recorder = metrics.recorder(server: "\(endpoint)", proto: "udp", logger: logger, logQueries: configuration.logQueries)
                let listener = try UDPListener(host: endpoint.host, port: port, dispatch: dispatch, store: store, counters: counters,
                                               recorder: recorder, forwardLoop: loops[i % loops.count], loadBalance: configuration.loadBalance)
                listeners.append(listener)
                if port == 0 { port = listener.port }
            }
            let tcp = try await tcpBootstrap(endpoint).bind(host: endpoint.host, port: port).get()
            channels.withLock { $0.append(tcp) }
            for (i, l) in listeners.enumerated() { l.start(name: "udp-\(port)-\(i)") }
            udp.withLock { $0 += listeners }
            let actual = ServerConfiguration.Endpoint(host: endpoint.host, port: port)
            logger.info("listening", metadata: ["address": "\(actual)", "udp_sockets": "\(sockets)"])
            return actual
        } catch {
            for l in listeners { close(l.fd) }
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
        let listeners = udp.withLock { u -> [UDPListener] in defer { u = [] }; return u }
        for listener in listeners { listener.requestStop() }
        for listener in listeners { await listener.stop() }
    }

    /// Runs `body` on the thread of each UDP listener (between batches; within 200 ms when
    /// idle). For diagnostics: the query-path benchmark counts that thread's allocations.
    public func onUDPThreads(_ body: @escaping @Sendable () -> Void) {
        for listener in udp.withLock({ $0 }) { listener.run(onThread: body) }
    }

    private func tcpBootstrap(_ endpoint: ServerConfiguration.Endpoint) -> ServerBootstrap {
        let store = self.store, dispatch = self.dispatch, counters = self.counters
        let config = configuration
        // One recorder per event loop for the connections of this listener: no lock between them.
        let metrics = self.metrics, logger = self.logger
        let recorders = group.makeIterator().map { loop in
            (loop, metrics.recorder(server: "\(endpoint)", proto: "tcp", logger: logger, logQueries: configuration.logQueries))
        }
        let idle = TimeAmount.seconds(config.tcpIdleTimeout)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // As the UDP sockets: a Corefile reload binds its new listeners beside these.
            .serverChannelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
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
                    try sync.addHandler(TCPQueryHandler(store: store, dispatch: dispatch, counters: counters, recorder: recorder,
                                                        maxQueries: config.maxQueriesPerConnection, stallTimeout: idle,
                                                        loadBalance: config.loadBalance, allocator: channel.allocator))
                }
            }
    }
}
