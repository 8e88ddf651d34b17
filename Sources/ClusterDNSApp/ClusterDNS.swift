import DNSServer
import Forwarding
import Dispatch
import Foundation
import CSystemMalloc
import KubeAPI
import KubeSources
import Logging
import NIOCore
import NIOPosix
import Operations
import Prometheus
import RecordIndex
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The running server: sources → snapshot store → listeners, plus the operator's endpoints. The
/// one place where the long-running parts are composed (DESIGN.md).
public final class ClusterDNS: Sendable {
    public let configuration: ServeConfiguration
    public let store = SnapshotStore()
    public let readiness = Readiness()
    public let metrics: AppMetrics
    let logger: Logger
    /// Where the configuration came from when it is a Corefile (`serve --corefile`), for `reload`.
    let corefile: CorefileSource?

    public init(configuration: ServeConfiguration, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger,
                corefile: CorefileSource? = nil) {
        self.configuration = configuration
        self.metrics = AppMetrics(registry: registry)
        self.logger = logger
        self.corefile = corefile
    }

    /// Binds the operations endpoints, loads the data, binds DNS, then serves until SIGTERM or
    /// SIGINT. Shutdown is a lame duck: `/ready` turns 503 at once, DNS keeps answering for
    /// `--lameduck`, then the listeners close (answers in flight are written) and this returns.
    ///
    /// Composed as a `ServiceGroup` (swift-service-lifecycle) of two services: the index, which
    /// applies what the sources deliver, and `Serving` (endpoints, sources, listeners), whose
    /// graceful shutdown is the lame duck. The first SIGTERM or SIGINT shuts the group down
    /// gracefully; the services stop in reverse order, so the index outlives the listeners.
    public func run() async throws {
        // The signals are trapped before anything else: one arriving while the server starts is
        // kept and acted on once it runs. (Trapped only later, with the default action set aside,
        // a signal in between was lost and the server never stopped.)
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        // Signals after the first, for the lame duck: each one cuts it short.
        let (further, furtherSignals) = AsyncStream<Void>.makeStream()
        // Two arenas: builds on pool threads otherwise each keep their own freed memory.
        csm_limit_arenas(2)
        let ops = configuration.operations
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let dnsMetrics = DNSMetrics(registry: metrics.registry, recordQueries: ops.metrics != nil)
        let server: CurrentServer
        do {
            let forwarding = try ForwardingSetup.resolve(configuration, logger: logger)
            server = CurrentServer(try DNSServer(configuration: configuration.server, store: store, group: group, metrics: dnsMetrics,
                                                 forwarding: forwarding, logger: logger))
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let kubeReadiness = configuration.kubernetes.map { _ in KubeReadiness(readiness: readiness, metrics: metrics) }
        let logger = self.logger
        let index = IndexService(options: configuration.index, store: store, metrics: IndexMetrics(app: metrics), logger: logger,
                                 waitingFor: configuration.kubernetes == nil ? [] : [.api], onSynced: { origin in
            guard origin == .api else { return }
            logger.info("kubernetes synced: cluster zones answer from the API")
            kubeReadiness?.published()
        })
        let serving = Serving(app: self, server: server, http: HTTPEndpoints(group: group, logger: logger), index: index,
                              group: group, dnsMetrics: dnsMetrics, kubeReadiness: kubeReadiness, furtherSignals: further)
        let services = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: IndexRunner(index: index)), .init(service: serving)], logger: logger))
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    var first = true
                    for await signal in signals {
                        if first {
                            logger.info("shutting down gracefully", metadata: ["signal": "\(signal)"])
                            await services.triggerGracefulShutdown()
                            first = false
                        } else {
                            furtherSignals.yield()
                        }
                    }
                }
                try await services.run()
                tasks.cancelAll()
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// The index as a service: it applies and publishes until the group shuts down.
    struct IndexRunner: Service {
        let index: IndexService
        func run() async throws {
            await cancelWhenGracefulShutdown { await index.run() }
        }
    }

    /// The operations endpoints, the sources and the DNS listeners, brought up in order (HTTP
    /// first, so /health answers and /ready says "loading" while the data loads; DNS once it is
    /// loaded), served until the group shuts down gracefully, then the lame duck.
    struct Serving: Service {
        let app: ClusterDNS
        let server: CurrentServer
        let http: HTTPEndpoints
        let index: IndexService
        let group: MultiThreadedEventLoopGroup
        let dnsMetrics: DNSMetrics
        let kubeReadiness: KubeReadiness?
        let furtherSignals: AsyncStream<Void>

        func run() async throws {
            let configuration = app.configuration, readiness = app.readiness, logger = app.logger
            let ops = configuration.operations
            // Sources and periodic work: cancelled at shutdown, not waited for, so a list request
            // in flight to a slow API server cannot hold up the exit.
            var background: [Task<Void, Never>] = []
            // hosts files with `reload`; a Corefile reload replaces them with the new plugins' own.
            let hostsReloads = configuration.server.plugins?.startReloading(logger: logger) ?? []
            if app.corefile?.load.reload == nil { background += hostsReloads }
            func stop() async {
                for t in background { t.cancel() }
                await server.current.stop()
                await http.stop()
            }
            do {
                // /ready stays 503 until the DNS listeners are bound (a source may sync before that).
                readiness.notReady("dns", "listeners not bound yet")
                try await app.startHTTP(http, server: server)
                let directory = configuration.zonesDirectory.map(ManifestDirectory.init(root:))
                if let kube = configuration.kubernetes, let kubeReadiness {
                    background.append(try app.startKubernetes(kube, group: group, index: index, readiness: kubeReadiness))
                }
                if let directory {
                    readiness.notReady("zones", "loading \(directory.root)")
                    // The first load must succeed as a directory; bad files inside are reported, not fatal.
                    try await app.refresh(directory, index, first: true)
                } else {
                    await index.flush()
                }
                try await server.current.start()
                readiness.ready("dns")
                if let corefile = app.corefile, let every = corefile.load.reload {
                    let (server, group, dnsMetrics) = (server, group, dnsMetrics)
                    background.append(Task {
                        await app.reloading(corefile, every: every, server: server, group: group, metrics: dnsMetrics, hostsReloads: hostsReloads)
                    })
                }
                if let directory {
                    let index = index
                    background.append(Task { await app.poll(directory, index) })
                }
                let server = server
                background.append(Task { await app.summarise(server, every: ops.summaryInterval) })
            } catch {
                await stop()
                throw error
            }

            // Serving, until SIGTERM or SIGINT (or the group is cancelled).
            try? await gracefulShutdown()
            readiness.enterLameDuck()
            if ops.lameDuck > .zero && !Task.isCancelled {
                logger.info("lame duck: /ready is 503, still answering DNS", metadata: ["seconds": "\(ops.lameDuck.components.seconds)"])
                // Another signal ends the wait early.
                let further = furtherSignals
                await withTaskGroup(of: Void.self) { g in
                    g.addTask { try? await Task.sleep(for: ops.lameDuck) }
                    g.addTask { for await _ in further { return } }
                    await g.next()
                    g.cancelAll()
                }
            }
            logger.info("shutting down")
            await stop()
        }
    }

    /// Re-reads the zones directory every `--reload` interval, until cancelled.
    func poll(_ directory: ManifestDirectory, _ index: IndexService) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.reloadInterval)
            do {
                try await refresh(directory, index, first: false)
            } catch {
                metrics.reloadError("zones")
                readiness.degraded("zones", "\(error)")
                logger.error("zones directory unreadable; still serving the last good data", metadata: ["error": "\(error)"])
            }
        }
    }

    func startHTTP(_ http: HTTPEndpoints, server current: CurrentServer) async throws {
        let ops = configuration.operations
        let readiness = self.readiness, metrics = self.metrics
        let endpoints: [(ServeConfiguration.Operations.Endpoint?, String, HTTPEndpoints.Route)] = [
            (ops.health, "/health", { HTTPReply(.ok, "OK\n") }),
            (ops.ready, "/ready", {
                let s = readiness.status()
                return HTTPReply(s.ready ? .ok : .serviceUnavailable, s.text)
            }),
            (ops.metrics, "/metrics", {
                let server = current.current
                server.metrics.export(server.counters)
                metrics.refreshAges()
                var text: [UInt8] = []
                metrics.registry.emit(into: &text)
                var queries = ""
                server.metrics.emitQueryFamilies(into: &queries)
                if let forwarder = server.forwarder { DNSMetrics.emitForwardFamilies(forwarder, into: &queries) }
                if let search = server.searchCounters { DNSMetrics.emitSearchFamilies(search, into: &queries) }
                return HTTPReply(.ok, queries + String(decoding: text, as: UTF8.self),
                                 contentType: "text/plain; version=0.0.4; charset=utf-8")
            }),
        ]
        for (endpoint, path, route) in endpoints {
            guard let endpoint else { continue }
            do {
                try await http.start(host: endpoint.host, port: endpoint.port, routes: [path: route])
            } catch {
                throw ListenError(what: path, endpoint: endpoint, error: error)
            }
        }
    }

    /// Re-reads what changed under the directory and hands each changed file to the index as a
    /// replace of what it held. The first call waits until the load is published.
    func refresh(_ directory: ManifestDirectory, _ index: IndexService, first: Bool) async throws {
        guard let load = try directory.scan() else {
            if first { await index.flush() }
            metrics.synced("zones")
            readiness.ready("zones")
            return
        }
        report(load, first: first)
        index.submit(load.updates(arrived: .now))
        if let zones = load.zones { index.submit(zoneFiles: zones) }
        if first { await index.flush() }
        metrics.synced("zones")
        readiness.ready("zones")
        if !load.problems.isEmpty {
            metrics.reloadError("zones", count: load.problems.count)
            let more = load.problems.count > 1 ? " (and \(load.problems.count - 1) more)" : ""
            // Bad files never hold up readiness: their last good content (or nothing) is served.
            readiness.degraded("zones", "\(load.problems[0])\(more)")
        }
    }

    /// Starts the API watcher; returns its task. It only delivers events: the index applies them.
    func startKubernetes(_ kube: ServeConfiguration.Kubernetes, group: MultiThreadedEventLoopGroup, index: IndexService,
                         readiness kubeReadiness: KubeReadiness) throws -> Task<Void, Never> {
        let credentials: KubeCredentials
        switch kube {
        case .inCluster: credentials = try KubeCredentials.inCluster()
        case .kubeconfig(let path, let context): credentials = try KubeCredentials.kubeconfig(path: path, context: context)
        case .endpoint(let url): credentials = try KubeCredentials.endpoint(url)
        }
        let client = try KubeHTTPClient(credentials: credentials, group: group)
        // Pods only when an option reads them: `verified` pod records, and autopath's client
        // table with --autopath-pods (addresses only). (Endpoint pod names come from the
        // slices' targetRef, so --endpoint-pod-names needs no Pods.)
        let verified = configuration.index.pods == .verified
        let resources: [KubeResource] = [.namespaces, .services, .endpointslices] + (verified || configuration.autopathPods ? [.pods] : [])
        logger.info("watching the Kubernetes API", metadata: ["server": "\(credentials.serverURL)", "from": "\(credentials.origin)",
                                                              "resources": "\(resources.map(\.rawValue).joined(separator: ","))"])
        kubeReadiness.watching(resources, server: credentials.serverURL)
        var options = KubeSource.Options()
        options.slimPods = !verified
        let source = KubeSource(client: client, resources: resources, options: options, logger: logger,
                                emit: { index.submit($0) },
                                onState: { resource, state in kubeReadiness.update(resource, state) })
        return Task { await source.run() }
    }

    func report(_ load: ManifestDirectory.Load, first: Bool) {
        for problem in load.problems {
            logger.error("\(problem)")
        }
        if first {
            for (kind, n) in load.skippedKinds.sorted(by: { $0.key < $1.key }) {
                logger.info("skipping objects of a kind DNS does not read", metadata: ["kind": "\(kind)", "count": "\(n)"])
            }
        }
    }

    /// Bad packets are never logged one by one (a flood would become a disk-filling log): every
    /// interval, one warning with the counts since the last one, when there were any.
    func summarise(_ server: CurrentServer, every interval: Duration) async {
        var counters = server.current.counters
        var last = counters.snapshot()
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if server.current.counters !== counters {
                // A reload started new listeners with their own counts.
                counters = server.current.counters
                last = ServerCounters().snapshot()
            }
            let now = counters.snapshot()
            var metadata: Logger.Metadata = [:]
            for ((reason, n), (_, before)) in zip(now.drops, last.drops) where n > before {
                metadata["dropped_\(reason)"] = "\(n - before)"
            }
            if now.formErrReplies > last.formErrReplies {
                metadata["formerr_replies"] = "\(now.formErrReplies - last.formErrReplies)"
            }
            if !metadata.isEmpty {
                metadata["seconds"] = "\(interval.components.seconds)"
                logger.warning("bad packets since the last summary", metadata: metadata)
            }
            last = now
        }
    }

    static func unixTime() -> UInt32 {
        UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
    }
}

/// What /ready says about the API watcher: each resource's state, and whether a snapshot built
/// from a complete sync is out. Only then do cluster names stop answering SERVFAIL, so only
/// then may /ready say 200.
final class KubeReadiness: Sendable {
    struct State {
        var watched: [KubeResource] = []
        var server = ""
        var resources: [KubeResource: KubeSource.State] = [:]
        var published = false
    }

    let readiness: Readiness
    let metrics: AppMetrics
    private let state = Mutex(State())

    init(readiness: Readiness, metrics: AppMetrics) {
        self.readiness = readiness
        self.metrics = metrics
    }

    func watching(_ resources: [KubeResource], server: String) {
        state.withLock {
            $0.watched = resources
            $0.server = server
        }
        readiness.notReady("kubernetes", "listing from \(server)")
    }

    func update(_ r: KubeResource, _ s: KubeSource.State) {
        state.withLock { $0.resources[r] = s }
        refresh()
    }

    func published() {
        state.withLock { $0.published = true }
        refresh()
    }

    private func refresh() {
        let (resources, server, all, published) = state.withLock { ($0.watched, $0.server, $0.resources, $0.published) }
        let failing = resources.compactMap { r -> String? in
            if case .failing(let why)? = all[r] { return why }
            return nil
        }
        if published {
            metrics.synced("kubernetes")
            if let why = failing.first { readiness.degraded("kubernetes", why) } else { readiness.ready("kubernetes") }
        } else {
            let listing = resources.filter { all[$0] != .synced }.map(\.rawValue)
            readiness.notReady("kubernetes", failing.first
                ?? (listing.isEmpty ? "building the index" : "listing \(listing.joined(separator: ", ")) from \(server)"))
        }
    }
}

/// A listener that could not be bound, said in the operator's terms.
struct ListenError: Error, CustomStringConvertible {
    var what: String
    var endpoint: ServeConfiguration.Operations.Endpoint
    var error: Error
    var description: String { "cannot listen on \(endpoint) for \(what): \(error)" }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
