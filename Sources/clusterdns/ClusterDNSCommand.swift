import ArgumentParser
import ClusterDNSApp
import DNSServer
import DNSWire
import Forwarding
import Logging
import Metrics
import Prometheus
import RecordIndex

@main
struct ClusterDNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clusterdns",
        abstract: "Kubernetes cluster DNS: the DNS schema of Services, endpoints and pods, from the Kubernetes API or YAML manifests.",
        subcommands: [Serve.self, Check.self, Query.self, Compare.self],
        defaultSubcommand: Serve.self)
}

/// The index flags, shared by `serve` and `query` (names as in issue 3; meanings as CoreDNS's
/// kubernetes plugin options, coredns-kubernetes.md §1).
struct IndexFlags: ParsableArguments {
    @Option(name: .customLong("cluster-domain"), help: "Cluster domain to serve (repeatable; the first is used for PTR targets). Default: cluster.local")
    var clusterDomains: [String] = []

    @Option(name: .customLong("reverse-zone"), help: "Reverse zone to serve PTRs in (repeatable). Default: in-addr.arpa and ip6.arpa")
    var reverseZones: [String] = []

    @Option(help: "TTL of generated records, 0-3600; also the SOA minimum.")
    var ttl: Int = 5

    @Option(help: "Pod A records <dashed-ip>.<ns>.pod.<zone>: disabled, insecure (any IP), verified (only IPs of known Pods).")
    var pods: String = "disabled"

    @Option(name: .customLong("namespace"), help: "Expose only this namespace (repeatable). Default: all namespaces")
    var namespaces: [String] = []

    @Flag(name: .customLong("endpoint-pod-names"), help: "Name endpoints without a hostname after their Pod rather than their dashed IP.")
    var endpointPodNames = false

    @Flag(name: .customLong("ignore-empty-service"), help: "ClusterIP Services with no ready endpoint answer NXDOMAIN.")
    var ignoreEmptyService = false

    @Flag(name: .customLong("no-endpoints"), help: "Ignore endpoints: no headless, endpoint or endpoint PTR records.")
    var noEndpoints = false

    func options() throws -> IndexOptions {
        var o = IndexOptions()
        if !clusterDomains.isEmpty { o.clusterDomains = try clusterDomains.map { try Self.zone($0, "--cluster-domain") } }
        if !reverseZones.isEmpty { o.reverseZones = try reverseZones.map { try Self.zone($0, "--reverse-zone") } }
        guard (0...3600).contains(ttl) else { throw ValidationError("--ttl must be between 0 and 3600") }
        o.ttl = UInt32(ttl)
        guard let mode = Zone.PodRecords(rawValue: pods) else { throw ValidationError("--pods must be disabled, insecure or verified") }
        o.pods = mode
        if !namespaces.isEmpty { o.namespaces = Set(namespaces) }
        o.endpointPodNames = endpointPodNames
        o.ignoreEmptyService = ignoreEmptyService
        o.noEndpoints = noEndpoints
        return o
    }

    static func zone(_ text: String, _ flag: String) throws -> DNSName {
        guard let name = try? DNSName(parsing: text.hasSuffix(".") ? text : text + "."), !name.isRoot, name.wire.count < 200 else {
            throw ValidationError("\(flag) \(text) is not a domain name")
        }
        return name
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve DNS over UDP and TCP from the Kubernetes API (--kubernetes, --kubeconfig), a zones directory (--zones), or both.")

    @Option(name: [.customLong("corefile"), .customLong("conf", withSingleDash: true)],
            help: "Read CoreDNS's Corefile (as `coredns -conf PATH` does): its server blocks, kubernetes, forward, cache, health, ready, prometheus, hosts, template, rewrite... plugins. --zones, --kubeconfig, --listen, --upstream, --resolv-conf and the --*-listen flags replace what it says.")
    var corefile: String?

    @Option(name: .customLong("zones"), help: "Directory of Kubernetes manifests (*.yaml, *.yml, *.json) and zone files (*.zone), reloaded on change.")
    var zones: String?

    @Option(name: .customLong("reload-interval"), help: "Seconds between checks of --zones for changed files.")
    var reloadInterval = 0.4

    @Flag(name: .customLong("kubernetes"), help: "Watch the Kubernetes API: in-cluster credentials, or --kubeconfig.")
    var kubernetes = false

    @Option(name: .customLong("kubeconfig"), help: "Watch the Kubernetes API with this kubeconfig file (implies --kubernetes).")
    var kubeconfig: String?

    @Option(name: .customLong("context"), help: "The kubeconfig context to use. Default: its current-context")
    var context: String?

    @Option(name: .customLong("listen"), help: "Address to serve UDP and TCP on, ADDR:PORT or [ADDR]:PORT (repeatable). Default: 0.0.0.0:53")
    var listen: [String] = []

    @Option(name: .customLong("udp-size"), help: "Largest UDP answer in bytes; larger answers set TC (512-65535).")
    var udpSize = 1232

    @Option(name: .customLong("tcp-idle-timeout"), help: "Seconds a TCP connection may wait for a complete query.")
    var tcpIdleTimeout = 10

    @Option(name: .customLong("max-tcp-connections"), help: "Open TCP connections allowed at once.")
    var maxTCPConnections = 1000

    @Option(name: .customLong("max-tcp-queries"), help: "Queries answered on one TCP connection before it is closed; 0: no limit (as NSD and CoreDNS).")
    var maxTCPQueries = 0

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Flag(name: .customLong("log-queries"), help: "Log one line per query: client, name, type, rcode, size, duration.")
    var logQueries = false

    @Flag(name: .customLong("no-loadbalance"),
          help: "Answer A and AAAA sets in stored order (by default they rotate by one per reply, as CoreDNS loadbalance does).")
    var noLoadBalance = false

    @Flag(name: .customLong("autopath"),
          help: "Walk a pod's search path for it: X.NS.svc.ZONE missing, from a client known to be in NS (by its address in EndpointSlices or Pods), answers the first of X.svc.ZONE, X.ZONE, X that exists, behind a CNAME (CoreDNS autopath @kubernetes).")
    var autopath = false

    @Flag(name: .customLong("autopath-pods"),
          help: "With --autopath and the Kubernetes API: also watch Pods (namespace and addresses only), so pods that are no Service's endpoint, and hostNetwork pods, are told apart.")
    var autopathPods = false

    @Flag(name: .customLong("filter-aaaa"),
          help: "Answer AAAA questions that would go upstream with NODATA at once (IPv4-only clusters); cluster zones are unchanged.")
    var filterAAAA = false

    @Option(name: .customLong("log-summary-interval"), help: "Seconds between log summaries of bad packets (never one line per packet).")
    var logSummaryInterval = 30

    @Option(name: .customLong("health-listen"), help: "Address of /health (200 while serving), or off. Default: 0.0.0.0:8080")
    var healthListen: String?

    @Option(name: .customLong("ready-listen"), help: "Address of /ready (200 once every source has synced, else 503 and why), or off. Default: 0.0.0.0:8181")
    var readyListen: String?

    @Option(name: .customLong("metrics-listen"), help: "Address of /metrics (Prometheus), or off (also stops recording query metrics). Default: 0.0.0.0:9153")
    var metricsListen: String?

    @Option(name: .customLong("lameduck"), help: "Seconds to keep answering DNS after SIGTERM while /ready is 503; a second signal cuts it short.")
    var lameDuck = 5

    @OptionGroup var index: IndexFlags

    @OptionGroup var forward: ForwardFlags

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "clusterdns")
        if let corefile {
            let (configuration, reload) = try corefileConfiguration(corefile, logger: logger)
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            try await ClusterDNS(configuration: configuration, registry: registry, logger: logger, corefile: reload).run()
            return
        }
        let endpoints = try (listen.isEmpty ? ["0.0.0.0:53"] : listen).map { try Self.endpoint($0, "--listen") }
        guard (512...65535).contains(udpSize) else { throw ValidationError("--udp-size must be between 512 and 65535") }
        var server = ServerConfiguration(listen: endpoints)
        server.udpSize = udpSize
        server.tcpIdleTimeout = Int64(tcpIdleTimeout)
        server.maxTCPConnections = maxTCPConnections
        guard maxTCPQueries >= 0 else { throw ValidationError("--max-tcp-queries must be 0 (no limit) or more") }
        server.maxQueriesPerConnection = maxTCPQueries
        server.logQueries = logQueries
        server.loadBalance = !noLoadBalance
        server.autopath = autopath
        server.filterAAAA = filterAAAA
        var options = try index.options()
        options.clientNamespaces = autopath
        options.nameserverAddresses = NameserverAddresses.forListeners(endpoints)
        var configuration = ServeConfiguration(zonesDirectory: zones, index: options, server: server)
        guard !autopathPods || autopath else { throw ValidationError("--autopath-pods needs --autopath") }
        configuration.autopathPods = autopathPods
        if let kubeconfig {
            configuration.kubernetes = .kubeconfig(path: kubeconfig, context: context)
        } else if kubernetes {
            guard context == nil else { throw ValidationError("--context needs --kubeconfig") }
            configuration.kubernetes = .inCluster
        }
        configuration.operations.health = try Self.optionalEndpoint(healthListen ?? "0.0.0.0:8080", "--health-listen")
        configuration.operations.ready = try Self.optionalEndpoint(readyListen ?? "0.0.0.0:8181", "--ready-listen")
        configuration.operations.metrics = try Self.optionalEndpoint(metricsListen ?? "0.0.0.0:9153", "--metrics-listen")
        guard (0...600).contains(lameDuck) else { throw ValidationError("--lameduck must be between 0 and 600 seconds") }
        configuration.operations.lameDuck = .seconds(lameDuck)
        guard reloadInterval >= 0.05, reloadInterval <= 86_400 else {
            throw ValidationError("--reload-interval must be between 0.05 and 86400 seconds")
        }
        configuration.reloadInterval = .milliseconds(Int64(reloadInterval * 1000))
        guard logSummaryInterval >= 1 else { throw ValidationError("--log-summary-interval must be at least 1 second") }
        configuration.operations.summaryInterval = .seconds(logSummaryInterval)
        configuration.forwarding = try forward.configuration()
        configuration.resolvConf = forward.resolvConf ?? "/etc/resolv.conf"

        // Library metrics (swift-metrics) land in the same registry as ours.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        try await ClusterDNS(configuration: configuration, registry: registry, logger: logger).run()
    }

    static func endpoint(_ text: String, _ flag: String) throws -> ServerConfiguration.Endpoint {
        guard let e = ServerConfiguration.Endpoint(parsing: text) else { throw ValidationError("\(flag) \(text): expected ADDR:PORT or [ADDR]:PORT") }
        return e
    }

    static func optionalEndpoint(_ text: String, _ flag: String) throws -> ServerConfiguration.Endpoint? {
        text == "off" ? nil : try endpoint(text, flag)
    }
}

/// Names outside our zones: upstreams and the cache (issue 6). CoreDNS equivalents in brackets.
struct ForwardFlags: ParsableArguments {
    @Option(name: .customLong("upstream"), help: "Upstream resolver, ADDR or ADDR:PORT (repeatable) [forward . ADDR]. Default: the nameservers of --resolv-conf; off: REFUSED outside our zones.")
    var upstreams: [String] = []

    @Option(name: .customLong("resolv-conf"), help: "Where the default upstreams come from (with --corefile: read instead of every /etc/resolv.conf it names). Default: /etc/resolv.conf")
    var resolvConf: String?

    @Option(name: .customLong("stub"), help: "DOMAIN=ADDR[,ADDR...]: names under DOMAIN go to these upstreams (repeatable) [kube-dns stubDomains].")
    var stubs: [String] = []

    @Flag(name: .customLong("force-tcp"), help: "Ask upstreams over TCP only (no UDP conntrack entries) [force_tcp].")
    var forceTCP = false

    @Option(name: .customLong("max-concurrent"), help: "Upstream questions in flight at once; more are answered SERVFAIL at once [max_concurrent].")
    var maxConcurrent = 1000

    @Option(name: .customLong("upstream-timeout"), help: "Seconds one upstream may take before the next is tried (the whole question gets at most 2.8 s, or this when longer).")
    var upstreamTimeout = 2.0

    @Option(name: .customLong("cache-size"), help: "Cached upstream answers kept at most; 0 turns the cache off.")
    var cacheSize = 10_000

    @Option(name: .customLong("cache-ttl"), help: "Longest time in seconds a positive upstream answer is cached [cache 30].")
    var cacheTTL = 30

    @Option(name: .customLong("cache-denial-ttl"), help: "Longest time in seconds an NXDOMAIN/NODATA upstream answer is cached (RFC 2308).")
    var cacheDenialTTL = 30

    @Option(name: .customLong("prefetch"), help: "Refresh an entry hit this many times shortly before it expires; 0: never [prefetch].")
    var prefetch = 2

    @Option(name: .customLong("serve-stale"), help: "Seconds past expiry an answer may still be served, with TTL 30, when upstreams fail (RFC 8767); 0: never [serve_stale].")
    var serveStale = 0

    func configuration() throws -> ForwardConfiguration? {
        if upstreams == ["off"] {
            guard stubs.isEmpty else { throw ValidationError("--stub needs forwarding: drop --upstream off") }
            return nil
        }
        var c = ForwardConfiguration(upstreams: try upstreams.map { try Self.upstream($0, "--upstream") })
        c.stubs = try stubs.map { text in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--stub \(text): expected DOMAIN=ADDR[,ADDR...]") }
            let domain = try IndexFlags.zone(parts[0], "--stub")
            let upstreams = try parts[1].split(separator: ",").map { try Self.upstream(String($0), "--stub") }
            guard !upstreams.isEmpty else { throw ValidationError("--stub \(text): no upstream address") }
            return ForwardConfiguration.Stub(domain: domain, upstreams: upstreams)
        }
        c.forceTCP = forceTCP
        guard maxConcurrent >= 1 else { throw ValidationError("--max-concurrent must be at least 1") }
        c.maxConcurrent = maxConcurrent
        guard (0.05...4).contains(upstreamTimeout) else { throw ValidationError("--upstream-timeout must be between 0.05 and 4 seconds") }
        c.attemptTimeout = .milliseconds(Int(upstreamTimeout * 1000))
        c.deadline = max(c.deadline, c.attemptTimeout)
        guard cacheSize >= 0 else { throw ValidationError("--cache-size must be 0 or more") }
        c.cache.size = cacheSize
        guard (0...86400).contains(cacheTTL), (0...86400).contains(cacheDenialTTL) else {
            throw ValidationError("--cache-ttl and --cache-denial-ttl must be between 0 and 86400")
        }
        // A cache of size 0 keeps nothing: every TTL capped to 0.
        c.cache.maxTTL = cacheSize == 0 ? 0 : UInt32(cacheTTL)
        c.cache.maxDenialTTL = cacheSize == 0 ? 0 : UInt32(cacheDenialTTL)
        guard prefetch >= 0 else { throw ValidationError("--prefetch must be 0 or more") }
        c.cache.prefetchHits = prefetch
        guard (0...604800).contains(serveStale) else { throw ValidationError("--serve-stale must be between 0 and 604800 seconds") }
        c.cache.serveStale = serveStale > 0 ? .seconds(serveStale) : nil
        return c
    }

    static func upstream(_ text: String, _ flag: String) throws -> ForwardConfiguration.Upstream {
        guard let u = ForwardConfiguration.Upstream(parsing: text) else {
            throw ValidationError("\(flag) \(text): expected an IP address, ADDR:PORT or [IPv6]:PORT")
        }
        return u
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a zones directory (print the records it serves as zone-file text) or a Corefile (--corefile: print the configuration it sets); errors as file:line: message.")

    @Argument(help: "The zones directory (with --corefile: optional, its records under the Corefile's kubernetes options).")
    var directory: String?

    @Option(name: [.customLong("corefile"), .customLong("conf", withSingleDash: true)],
            help: "A CoreDNS Corefile: print the configuration clusterdns reads from it, with its warnings; exit 1 if it cannot be used.")
    var corefile: String?

    @OptionGroup var index: IndexFlags

    func run() async throws {
        var options = try index.options()
        if let corefile {
            let load: CorefileLoad
            do {
                load = try CorefileConfiguration.load(path: corefile)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            print("# \(corefile)\(load.files.count > 1 ? " (with \(load.files.dropFirst().joined(separator: ", ")))" : "")")
            print(load.configuration.summary, terminator: "")
            if let r = load.reload { print("reload: every \(r.interval) ± \(r.jitter)") } else { print("reload: off") }
            for w in load.warnings { print("warning: \(w)") }
            guard directory != nil else { return }
            options = load.configuration.index
        }
        guard let directory else { throw ValidationError("give a zones directory, or --corefile PATH") }
        let (load, snapshot) = try OfflineTools.load(directory: directory, options: options)
        print(OfflineTools.zoneText(snapshot), terminator: "")
        for p in load.problems { printError("\(p)") }
        if !load.problems.isEmpty { throw ExitCode(1) }
    }
}

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer one question offline from a zones directory and print it like dig.")

    @Argument(help: "The name to look up.")
    var name: String

    @Argument(help: "The record type (A, AAAA, SRV, PTR, TXT, SOA, NS, CNAME, ANY, TYPEnnn).")
    var type: String = "A"

    @Option(name: .customLong("zones"), help: "Directory of manifests and zone files.")
    var zones: String = "zones"

    @OptionGroup var index: IndexFlags

    func run() async throws {
        guard let qtype = RecordType(mnemonic: type) else { throw ValidationError("unknown record type \(type)") }
        guard let qname = try? DNSName(parsing: name.hasSuffix(".") ? name : name + ".") else { throw ValidationError("\(name) is not a domain name") }
        let (load, snapshot) = try OfflineTools.load(directory: zones, options: try index.options())
        for p in load.problems { printError("\(p)") }
        print(OfflineTools.query(name: qname, type: qtype, snapshot: snapshot), terminator: "")
    }
}

func printError(_ s: String) {
    var stderr = StandardError()
    print(s, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleStderr.write(string)
    }
}
