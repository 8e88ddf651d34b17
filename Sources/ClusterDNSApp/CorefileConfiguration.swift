import Corefile
import DNSResponder
import DNSServer
import DNSWire
import FileContents
import Forwarding
import Foundation
import RecordIndex

/// A Corefile read as clusterdns's configuration: the same `ServeConfiguration` the flags build,
/// so `serve --corefile`, `-conf`, `check --corefile` and `compare --corefile` mean one thing.
/// Each plugin keeps CoreDNS's meaning and defaults; what clusterdns cannot do the way CoreDNS
/// does is refused with `file:line`, never dropped, unless it cannot change an answer (then it
/// is a note that `check --corefile` prints).
public struct CorefileLoad: Sendable {
    public var configuration: ServeConfiguration
    /// Accepted but ignored or approximated: said at start-up and by `check --corefile`.
    public var warnings: [String] = []
    /// Every file read (the Corefile and its imports), for `reload`.
    public var files: [String] = []
    /// CoreDNS `reload [INTERVAL [JITTER]]`: how often the files are checked; nil: never.
    public var reload: Reload?

    public struct Reload: Sendable, Equatable {
        public var interval: Duration
        public var jitter: Duration

        package init(interval: Duration, jitter: Duration) {
            self.interval = interval
            self.jitter = jitter
        }
    }
}

/// Command-line values that replace what the Corefile says (for running a cluster's Corefile on
/// a workstation or in a test: objects from a directory, loopback listeners, a loopback upstream).
public struct CorefileOverrides: Sendable {
    public var zonesDirectory: String?
    public var kubernetes: ServeConfiguration.Kubernetes?
    public var listen: [ServerConfiguration.Endpoint] = []
    /// Replaces every `/etc/resolv.conf` the Corefile names (the default upstreams and stubs).
    public var resolvConf: String?
    /// `--upstream`: the default upstreams whatever `forward .` says; `off` turns forwarding off.
    public var upstreams: [ForwardConfiguration.Upstream]?
    public var forwardingOff = false
    public var health: ServerConfiguration.Endpoint??
    public var ready: ServerConfiguration.Endpoint??
    public var metrics: ServerConfiguration.Endpoint??
    public init() {}
}

public enum CorefileConfiguration {
    /// The plugins a Corefile may use here, as `check --corefile` and refusals list them.
    public static let supported: [String] = [
        "autopath", "bind", "bufsize", "cache", "chaos", "errors", "forward", "health", "hosts", "kubernetes",
        "loadbalance", "log", "loop", "prometheus", "ready", "reload", "rewrite", "template", "whoami",
    ] + ["debug", "pprof", "erratic"]
    /// Accepted and ignored, with a warning: they only help debugging CoreDNS itself.
    static let debugging: Set<String> = ["debug", "pprof", "erratic"]

    public static func load(path: String, overrides: CorefileOverrides = CorefileOverrides(),
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> CorefileLoad {
        let corefile = try CorefileParser(environment: environment).parse(file: path)
        return try map(corefile, path: path, overrides: overrides)
    }

    public static func map(_ corefile: Corefile, path: String, overrides: CorefileOverrides = CorefileOverrides()) throws -> CorefileLoad {
        var mapper = Mapper(path: path, overrides: overrides)
        try mapper.run(corefile)
        var load = mapper.result()
        load.files = corefile.files
        return load
    }
}

/// One pass over the server blocks, collecting what each plugin asks for.
package struct Mapper {
    let path: String
    let overrides: CorefileOverrides
    var warnings: [String] = []

    // What the blocks add up to.
    var port: (Int, CorefileLocation)?
    var binds: ([String], CorefileLocation)?
    var kubernetes: (zones: [DNSName], location: CorefileLocation)?
    var index = IndexOptions()
    var source: ServeConfiguration.Kubernetes?
    var reverseFallthrough = false
    var server = ServerConfiguration(listen: [])
    var forward: ForwardConfiguration?
    var defaultForward: CorefileLocation?
    var resolvConf = "/etc/resolv.conf"
    var cache: ForwardConfiguration.Cache?
    var health: ServerConfiguration.Endpoint?
    var ready: ServerConfiguration.Endpoint?
    var metrics: ServerConfiguration.Endpoint?
    var lameDuck: Duration = .zero
    var reload: CorefileLoad.Reload?
    var loadBalance = false
    var logQueries = false
    var autopath = false
    var blockZones: [[DNSName]] = []
    /// Zones of blocks without `forward`: their names never go to another block's upstreams.
    var unforwarded: [DNSName] = []

    init(path: String, overrides: CorefileOverrides) {
        self.path = path
        self.overrides = overrides
    }

    /// Every server block's zones: a query for a name under one never reaches another block.
    var allZones: [DNSName] = []

    mutating func run(_ corefile: Corefile) throws {
        allZones = corefile.servers.flatMap { b in b.keys.compactMap { try? Self.name($0.zone, b.location) } }
        var seenZones: [String: CorefileLocation] = [:]
        for block in corefile.servers {
            let zones = try block.keys.map { key -> DNSName in
                guard key.scheme == "dns" else {
                    throw CorefileError(block.location, "server key \(key): only dns:// servers are supported (not \(key.scheme)://)")
                }
                let p = key.port ?? 53
                if let (other, at) = port, other != p {
                    throw CorefileError(block.location, "server key \(key): every server block must use one port (\(at) uses \(other)): clusterdns serves one set of listeners")
                }
                if port == nil { port = (p, block.location) }
                if let at = seenZones[key.zone] {
                    throw CorefileError(block.location, "zone \(key.zone) is already served by the block at \(at)")
                }
                seenZones[key.zone] = block.location
                return try Self.name(key.zone, block.location)
            }
            blockZones.append(zones)
            try self.block(block, zones: zones)
            if block.directives(named: "forward").isEmpty { unforwarded += zones }
        }
    }

    mutating func block(_ block: ServerBlock, zones: [DNSName]) throws {
        var seen: [String: CorefileLocation] = [:]
        var blockBind: [String]?
        for d in block.directives {
            if let at = seen[d.name], !["forward", "rewrite", "template", "import"].contains(d.name) {
                throw d.error("plugin \"\(d.name)\" appears twice in this server block (first at \(at))")
            }
            seen[d.name] = d.location
            switch d.name {
            case "errors": try errors(d)
            case "health": try health(d)
            case "ready": ready = try listenArgument(d, default: "0.0.0.0:8181", max: 1)
            case "prometheus": metrics = try listenArgument(d, default: "127.0.0.1:9153", max: 1)  // CoreDNS: localhost:9153
            case "kubernetes": try kubernetes(d, block: zones)
            case "forward": try forward(d, block: zones)
            case "cache": try cache(d)
            case "loop": try noArguments(d)
            case "reload": try reload(d)
            case "loadbalance":
                guard d.arguments.isEmpty || d.arguments == ["round_robin"], d.block == nil else {
                    throw d.error("plugin \"loadbalance\": only round_robin is supported (not \(d.arguments.joined(separator: " ")))")
                }
                loadBalance = true
            case "log": try log(d)
            case "bind": blockBind = try bind(d)
            case "bufsize":
                guard d.arguments.count == 1, let n = Int(d.arguments[0]), (512...4096).contains(n), d.block == nil else {
                    throw d.error("plugin \"bufsize\" needs one size from 512 to 4096")
                }
                server.udpSize = n
            case "autopath":
                guard d.arguments == ["@kubernetes"], d.block == nil else {
                    throw d.error("plugin \"autopath\": only `autopath @kubernetes` is supported (a resolv.conf search path is not)")
                }
                autopath = true
            case _ where CorefileConfiguration.debugging.contains(d.name):
                warnings.append("\(d.location): plugin \"\(d.name)\" is for debugging CoreDNS and is ignored")
            case _ where CorefilePlugins.names.contains(d.name):
                break  // answer-shaping plugins: CorefilePlugins.block, below
            default:
                throw d.error("plugin \"\(d.name)\" is not supported (supported: \(CorefileConfiguration.supported.joined(separator: ", ")))")
            }
        }
        let addresses = blockBind ?? Self.wildcards
        if let (other, at) = binds, other != addresses {
            throw CorefileError(block.location, "bind \(addresses.joined(separator: " ")) differs from \(other.joined(separator: " ")) at \(at): every server block must bind the same addresses")
        }
        binds = (addresses, block.location)
        pluginBlocks.append(try CorefilePlugins.block(block, zones: zones, directory: CorefileParser.directory(of: path)))
    }

    var pluginBlocks: [PluginBlock] = []

    // MARK: plugins

    mutating func errors(_ d: Directive) throws {
        // `errors` logs failures; clusterdns logs them anyway. Its `consolidate` option only
        // shapes log lines.
        guard d.arguments.isEmpty else { throw d.error("plugin \"errors\" takes no arguments") }
        for o in d.block ?? [] where o.name != "consolidate" && o.name != "stacktrace" {
            throw o.error("plugin \"errors\": option \"\(o.name)\" is not supported")
        }
    }

    mutating func health(_ d: Directive) throws {
        health = try listenArgument(d, default: "0.0.0.0:8080", max: 1, allowBlock: true)
        for o in d.block ?? [] {
            guard o.name == "lameduck", o.arguments.count == 1, let t = Self.duration(o.arguments[0]) else {
                throw o.error("plugin \"health\": expected `lameduck DURATION`")
            }
            lameDuck = t
        }
    }

    mutating func kubernetes(_ d: Directive, block: [DNSName]) throws {
        if let k = kubernetes { throw d.error("plugin \"kubernetes\" is already set up at \(k.location): one cluster per server") }
        let zones = try d.arguments.isEmpty ? block : d.arguments.map { try Self.name($0, d.location, plugin: d.name) }
        for z in zones where !block.contains(where: { z.isSubdomain(of: $0) }) {
            throw d.error("plugin \"kubernetes\": zone \(z) is outside this server block's zones (\(block.map(\.description).joined(separator: " ")))")
        }
        kubernetes = (zones, d.location)
        let reverse = zones.filter(Self.isReverse)
        index.clusterDomains = zones.filter { !Self.isReverse($0) }
        index.reverseZones = reverse
        guard !index.clusterDomains.isEmpty else {
            throw d.error("plugin \"kubernetes\": no cluster domain among \(zones.map(\.description).joined(separator: " ")) (only reverse zones)")
        }
        if index.clusterDomains.contains(.root) {
            throw d.error("plugin \"kubernetes\": the root zone cannot be the cluster domain; name it (`kubernetes cluster.local in-addr.arpa ip6.arpa`)")
        }
        var kubeconfig: (String, String?)?
        var endpoint: String?
        for o in d.block ?? [] {
            let args = o.arguments
            switch o.name {
            case "pods":
                guard args.count == 1, let mode = Zone.PodRecords(rawValue: args[0]) else {
                    throw o.error("plugin \"kubernetes\": pods must be disabled, insecure or verified")
                }
                index.pods = mode
            case "ttl":
                guard args.count == 1, let n = UInt32(args[0]), n <= 3600 else { throw o.error("plugin \"kubernetes\": ttl must be 0 to 3600") }
                index.ttl = n
            case "namespaces":
                guard !args.isEmpty else { throw o.error("plugin \"kubernetes\": namespaces needs at least one namespace") }
                index.namespaces = Set(args)
            case "endpoint_pod_names": try Self.flag(o); index.endpointPodNames = true
            case "noendpoints": try Self.flag(o); index.noEndpoints = true
            case "ignore":
                guard args == ["empty_service"] else { throw o.error("plugin \"kubernetes\": only `ignore empty_service` is supported") }
                index.ignoreEmptyService = true
            case "fallthrough":
                let through = try args.isEmpty ? zones : args.map { try Self.name($0, o.location, plugin: o.name) }
                reverseFallthrough = reverse.contains { r in through.contains { r.isSubdomain(of: $0) || $0.isSubdomain(of: r) } }
                let cluster = index.clusterDomains.filter { c in through.contains { c.isSubdomain(of: $0) } }
                if !cluster.isEmpty {
                    warnings.append("\(o.location): kubernetes fallthrough for \(cluster.map(\.description).joined(separator: " ")): clusterdns answers its cluster zones authoritatively, so a name missing there is NXDOMAIN, not forwarded")
                }
            case "kubeconfig":
                guard (1...2).contains(args.count) else { throw o.error("plugin \"kubernetes\": expected `kubeconfig PATH [CONTEXT]`") }
                kubeconfig = (args[0], args.count == 2 ? args[1] : nil)
            case "endpoint":
                guard args.count == 1 else { throw o.error("plugin \"kubernetes\": one endpoint URL is supported") }
                endpoint = args[0]
            case "startup_timeout", "apiserver_qps", "apiserver_burst", "apiserver_max_inflight":
                // Client tuning: the watcher has its own backoff and never gives up.
                warnings.append("\(o.location): kubernetes \(o.name) is not needed by clusterdns's watcher and is ignored")
            default:
                throw o.error("plugin \"kubernetes\": option \"\(o.name)\" is not supported (supported: pods, ttl, namespaces, endpoint_pod_names, noendpoints, ignore empty_service, fallthrough, kubeconfig, endpoint)")
            }
        }
        if let (path, context) = kubeconfig {
            source = .kubeconfig(path: path, context: context)
        } else if let endpoint {
            guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw d.error("plugin \"kubernetes\": endpoint \(endpoint) is not an http(s) URL")
            }
            source = .endpoint(endpoint)
        } else {
            source = .inCluster
        }
    }

    mutating func forward(_ d: Directive, block: [DNSName]) throws {
        guard d.arguments.count >= 2 else { throw d.error("plugin \"forward\" needs a zone and at least one upstream: `forward . 10.0.0.10`") }
        let from = try Self.name(d.arguments[0], d.location, plugin: d.name)
        var forceTCP = false
        var config = forward ?? ForwardConfiguration(upstreams: [])
        for o in d.block ?? [] {
            let args = o.arguments
            switch o.name {
            case "force_tcp": try Self.flag(o); forceTCP = true
            case "prefer_udp":
                // clusterdns asks over UDP whatever the client used (TCP after a truncation).
                try Self.flag(o)
            case "max_concurrent":
                guard args.count == 1, let n = Int(args[0]), n >= 1 else { throw o.error("plugin \"forward\": max_concurrent needs a positive number") }
                config.maxConcurrent = n
            case "max_fails":
                guard args.count == 1, let n = Int(args[0]), n >= 0 else { throw o.error("plugin \"forward\": max_fails needs a number") }
                config.maxFails = n == 0 ? Int.max : n
            case "health_check":
                guard (1...3).contains(args.count), let t = Self.duration(args[0]), t > .zero,
                      args.dropFirst().allSatisfy({ $0 == "no_rec" || $0.hasPrefix("domain") }) else {
                    throw o.error("plugin \"forward\": expected `health_check DURATION [no_rec]`")
                }
                config.healthCheckInterval = t
            case "expire":
                // Connection reuse: clusterdns opens a fresh socket per upstream question.
                guard args.count == 1, Self.duration(args[0]) != nil else { throw o.error("plugin \"forward\": expire needs a duration") }
            case "policy":
                guard args.count == 1, ["random", "round_robin", "sequential"].contains(args[0]) else {
                    throw o.error("plugin \"forward\": policy must be random, round_robin or sequential")
                }
                if args[0] != "random" {
                    warnings.append("\(o.location): forward policy \(args[0]): clusterdns starts at a random upstream and tries the next on failure (answers are the same)")
                }
            case "except":
                // Names the cluster zones answer, or that another server block takes, never reach
                // this forward anyway; excepting others would need a forward that refuses names.
                let names = try args.map { try Self.name($0, o.location, plugin: o.name) }
                let cluster = kubernetes?.zones ?? []
                for n in names {
                    // The zone of this block a query for n would come in by, if any.
                    guard let mine = block.filter({ n.isSubdomain(of: $0) }).max(by: { $0.wire.count < $1.wire.count }) else { continue }
                    let moreSpecific = allZones.contains { z in !block.contains(z) && z.isSubdomain(of: mine) && n.isSubdomain(of: z) }
                    let clusters = cluster.contains { n.isSubdomain(of: $0) }
                    guard !moreSpecific && !clusters else { continue }
                    throw o.error("plugin \"forward\": except \(n) is not supported (only names of the cluster zones or of another server block, which never reach this forward)")
                }
            default:
                throw o.error("plugin \"forward\": option \"\(o.name)\" is not supported (supported: force_tcp, prefer_udp, max_concurrent, max_fails, health_check, expire, policy, except)")
            }
        }
        var upstreams: [ForwardConfiguration.Upstream] = []
        var file: String?
        for raw in d.arguments.dropFirst() {
            if raw.hasPrefix("/") {
                guard upstreams.isEmpty, file == nil, d.arguments.count == 2 else {
                    throw d.error("plugin \"forward\": a resolv.conf file must be the only upstream")
                }
                file = raw
                continue
            }
            var text = raw
            if text.hasPrefix("dns://") { text.removeFirst(6) }
            guard !text.contains("://") else {
                throw d.error("plugin \"forward\": upstream \(raw) is not supported (plain DNS only: no tls:// or https://)")
            }
            guard let u = ForwardConfiguration.Upstream(parsing: text) else {
                throw d.error("plugin \"forward\": upstream \(raw) is not an IP address, ADDR:PORT or [IPv6]:PORT")
            }
            upstreams.append(u)
        }
        // `forward . X` in a block forwards the block's zones; `forward foo.com X`, the names under foo.com.
        let domains = from.isRoot ? block : [from]
        if !from.isRoot && !block.contains(where: { from.isSubdomain(of: $0) }) {
            // CoreDNS loads it too; it never forwards anything.
            warnings.append("\(d.location): forward \(from) is outside this server block's zones (\(block.map(\.description).joined(separator: " "))): no query reaches it")
            return
        }
        for domain in domains {
            if domain.isRoot {
                if let at = defaultForward { throw d.error("plugin \"forward\": the root zone is already forwarded at \(at)") }
                defaultForward = d.location
                if let file {
                    resolvConf = overrides.resolvConf ?? file
                    config.upstreams = []
                } else {
                    config.upstreams = upstreams
                }
                config.forceTCP = forceTCP
            } else {
                var list = upstreams
                if let file { list = try Self.resolvConf(overrides.resolvConf ?? file, d) }
                if config.stubs.contains(where: { $0.domain == domain }) { throw d.error("plugin \"forward\": \(domain) is forwarded twice") }
                config.stubs.append(ForwardConfiguration.Stub(domain: domain, upstreams: list, forceTCP: forceTCP))
            }
        }
        forward = config
    }

    mutating func cache(_ d: Directive) throws {
        // CoreDNS: `cache [TTL] [ZONES...]`; without TTL the caps are 3600 s (success) and 1800 s (denial).
        var c = ForwardConfiguration.Cache()
        c.maxTTL = 3600
        c.maxDenialTTL = 1800
        c.size = 9984 * 2
        c.prefetchHits = 0
        var args = d.arguments[...]
        if let first = args.first, let ttl = UInt32(first) {
            c.maxTTL = ttl
            c.maxDenialTTL = ttl
            args = args.dropFirst()
        }
        if !args.isEmpty { warnings.append("\(d.location): cache zones \(args.joined(separator: " ")): the cache holds every forwarded name") }
        var success = 9984, denial = 9984
        for o in d.block ?? [] {
            let a = o.arguments
            switch o.name {
            case "success", "denial":
                guard (1...3).contains(a.count), let capacity = Int(a[0]), capacity >= 0 else {
                    throw o.error("plugin \"cache\": expected `\(o.name) CAPACITY [TTL [MINTTL]]`")
                }
                if o.name == "success" { success = capacity } else { denial = capacity }
                if a.count >= 2 {
                    guard let ttl = UInt32(a[1]) else { throw o.error("plugin \"cache\": \(o.name) TTL must be a number of seconds") }
                    if o.name == "success" { c.maxTTL = ttl } else { c.maxDenialTTL = ttl }
                }
                if a.count == 3 { warnings.append("\(o.location): cache \(o.name) MINTTL is not supported: answers are cached for their own TTL") }
            case "prefetch":
                guard (1...3).contains(a.count), let n = Int(a[0]), n >= 1 else { throw o.error("plugin \"cache\": expected `prefetch AMOUNT [DURATION [PERCENTAGE%]]`") }
                c.prefetchHits = n
                if a.count > 1 { warnings.append("\(o.location): cache prefetch: entries are refreshed in the last tenth of their life, whatever DURATION and PERCENTAGE say") }
            case "serve_stale":
                guard a.count <= 2 else { throw o.error("plugin \"cache\": expected `serve_stale [DURATION [immediate|verify]]`") }
                guard let t = a.isEmpty ? .seconds(3600) : Self.duration(a[0]) else { throw o.error("plugin \"cache\": serve_stale needs a duration") }
                c.serveStale = t
                if a.count == 2, a[1] != "verify", a[1] != "immediate" { throw o.error("plugin \"cache\": serve_stale mode is immediate or verify") }
            case "servfail":
                guard a.count == 1, Self.duration(a[0]) != nil else { throw o.error("plugin \"cache\": servfail needs a duration") }
                // SERVFAIL is never cached here: the next question asks again.
            case "disable":
                guard let what = a.first, ["success", "denial"].contains(what) else { throw o.error("plugin \"cache\": expected `disable success|denial [ZONES...]`") }
                let zones = try a.dropFirst().map { try Self.name($0, o.location, plugin: o.name) }
                let cluster = kubernetes?.zones ?? index.clusterDomains
                if zones.isEmpty || !zones.allSatisfy({ z in cluster.contains { z.isSubdomain(of: $0) } }) {
                    if zones.isEmpty {
                        if what == "success" { c.maxTTL = 0 } else { c.maxDenialTTL = 0 }
                    } else {
                        throw o.error("plugin \"cache\": disable for zones outside the cluster zones is not supported")
                    }
                }
                // Inside the cluster zones: answers come from the index and are never cached.
            case "keepttl":
                throw o.error("plugin \"cache\": keepttl is not supported (cached answers count their TTL down)")
            default:
                throw o.error("plugin \"cache\": option \"\(o.name)\" is not supported (supported: success, denial, prefetch, serve_stale, servfail, disable)")
            }
        }
        c.size = success + denial
        if let old = cache {
            // One cache serves every block: the largest figures win.
            c.size = max(c.size, old.size)
            c.maxTTL = max(c.maxTTL, old.maxTTL)
            c.maxDenialTTL = max(c.maxDenialTTL, old.maxDenialTTL)
            c.prefetchHits = old.prefetchHits == 0 ? c.prefetchHits : (c.prefetchHits == 0 ? old.prefetchHits : min(c.prefetchHits, old.prefetchHits))
            c.serveStale = c.serveStale ?? old.serveStale
        }
        cache = c
    }

    mutating func reload(_ d: Directive) throws {
        guard d.arguments.count <= 2, d.block == nil else { throw d.error("plugin \"reload\": expected `reload [INTERVAL [JITTER]]`") }
        let interval = d.arguments.first.map(Self.duration) ?? .seconds(30)
        let jitter = d.arguments.count == 2 ? Self.duration(d.arguments[1]) : .seconds(15)
        guard let interval, let jitter, interval >= .seconds(2), jitter >= .zero, jitter <= interval / 2 else {
            throw d.error("plugin \"reload\": INTERVAL at least 2s, JITTER at most half of it")
        }
        reload = CorefileLoad.Reload(interval: interval, jitter: jitter)
    }

    mutating func log(_ d: Directive) throws {
        logQueries = true
        if d.arguments.count > 1 || (d.arguments.first.map { $0 != "." } ?? false) {
            warnings.append("\(d.location): log \(d.arguments.joined(separator: " ")): every query is logged in clusterdns's format")
        }
        for o in d.block ?? [] {
            guard o.name == "class", !o.arguments.isEmpty,
                  o.arguments.allSatisfy({ ["all", "success", "denial", "error"].contains($0) }) else {
                throw o.error("plugin \"log\": expected `class all|success|denial|error`")
            }
            if o.arguments != ["all"] {
                warnings.append("\(o.location): log class \(o.arguments.joined(separator: " ")): clusterdns logs every class")
            }
        }
    }

    func bind(_ d: Directive) throws -> [String] {
        guard !d.arguments.isEmpty else { throw d.error("plugin \"bind\" needs an address") }
        if d.block != nil { throw d.error("plugin \"bind\": `except` is not supported") }
        return try d.arguments.map { a in
            guard IPAddress(a) != nil else { throw d.error("plugin \"bind\": \(a) is not an IP address (interface names are not supported)") }
            return a
        }
    }

    mutating func noArguments(_ d: Directive) throws {
        guard d.arguments.isEmpty, d.block == nil else { throw d.error("plugin \"\(d.name)\" takes no arguments") }
    }

    func listenArgument(_ d: Directive, default fallback: String, max: Int, allowBlock: Bool = false) throws -> ServerConfiguration.Endpoint {
        guard d.arguments.count <= max, allowBlock || d.block == nil else { throw d.error("plugin \"\(d.name)\": expected `\(d.name) [ADDRESS]`") }
        guard var text = d.arguments.first else { return ServerConfiguration.Endpoint(parsing: fallback)! }
        // CoreDNS writes `:8080` for every address, `localhost:9153` for loopback.
        if text.hasPrefix(":") { text = "0.0.0.0" + text }
        if text.hasPrefix("localhost:") { text = "127.0.0.1" + text.dropFirst("localhost".count) }
        guard let e = ServerConfiguration.Endpoint(parsing: text) else { throw d.error("plugin \"\(d.name)\": \(d.arguments[0]) is not ADDRESS:PORT") }
        return e
    }

    // MARK: result

    func result() -> CorefileLoad {
        var server = self.server
        let hosts = (binds?.0 ?? Self.wildcards)
        let p = port?.0 ?? 53
        server.listen = overrides.listen.isEmpty ? hosts.map { ServerConfiguration.Endpoint(host: $0, port: p) } : overrides.listen
        server.loadBalance = loadBalance
        server.logQueries = logQueries
        server.autopath = autopath
        server.reverseFallthrough = reverseFallthrough
        let chain = PluginChain(blocks: pluginBlocks)
        server.plugins = chain.isEmpty ? nil : chain
        var index = self.index
        if kubernetes == nil {
            // No kubernetes plugin (a node-local cache): no cluster zones, everything is forwarded.
            index.clusterDomains = []
            index.reverseZones = []
        }
        index.clientNamespaces = autopath
        index.nameserverAddresses = NameserverAddresses.forListeners(server.listen)
        var c = ServeConfiguration(zonesDirectory: overrides.zonesDirectory, index: index, server: server)
        if overrides.zonesDirectory == nil || overrides.kubernetes != nil { c.kubernetes = overrides.kubernetes ?? source }
        var forwarding = forward
        if var f = forwarding {
            var cache = self.cache ?? ForwardConfiguration.Cache()
            if self.cache == nil {
                // No cache plugin: nothing is cached.
                cache.size = 0
                cache.maxTTL = 0
                cache.maxDenialTTL = 0
                cache.prefetchHits = 0
            }
            f.cache = cache
            if defaultForward == nil { f.upstreams = [] }
            if let ups = overrides.upstreams { f.upstreams = ups }
            forwarding = f
        }
        if overrides.forwardingOff || (defaultForward == nil && overrides.upstreams == nil && (forwarding?.stubs.isEmpty ?? true)) {
            forwarding = nil
        }
        if var f = forwarding {
            // CoreDNS answers a name by its block's plugins only: with no forward there (and
            // outside the cluster zones), what they leave is SERVFAIL, not the root's upstreams.
            let served = index.clusterDomains + index.reverseZones
            for zone in unforwarded where !zone.isRoot && !served.contains(where: { zone.isSubdomain(of: $0) })
                && !f.stubs.contains(where: { $0.domain == zone }) {
                f.stubs.append(ForwardConfiguration.Stub(domain: zone, upstreams: []))
            }
            forwarding = f
        }
        c.forwarding = forwarding
        let served = index.clusterDomains + index.reverseZones
        c.server.forwardedInside = (forwarding?.stubs ?? []).map(\.domain).filter { d in served.contains { d.isSubdomain(of: $0) } }
        // Only `forward . /etc/resolv.conf` reads a resolv.conf; without `forward .` names outside
        // every block's zones find no upstream.
        c.readResolvConf = defaultForward != nil && overrides.upstreams == nil
        c.resolvConf = overrides.resolvConf ?? resolvConf
        c.operations.health = overrides.health ?? health
        c.operations.ready = overrides.ready ?? ready
        c.operations.metrics = overrides.metrics ?? metrics
        c.operations.lameDuck = lameDuck
        c.autopathPods = false
        var seen = Set<String>()
        // A snippet imported into several blocks says the same thing once.
        let warnings = self.warnings.filter { seen.insert($0).inserted }
        return CorefileLoad(configuration: c, warnings: warnings, files: [], reload: reload)
    }

    // MARK: helpers

    /// CoreDNS without `bind` listens on every address of both families (Go's `:53`); where the
    /// kernel has no IPv6, on IPv4's only.
    static let wildcards: [String] = {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return ["0.0.0.0"] }
        close(fd)
        return ["0.0.0.0", "::"]
    }()

    static func isReverse(_ z: DNSName) -> Bool {
        z.isSubdomain(of: DNSName("in-addr.arpa")!) || z.isSubdomain(of: DNSName("ip6.arpa")!)
    }

    static func name(_ text: String, _ at: CorefileLocation, plugin: String? = nil) throws -> DNSName {
        let t = text.lowercased()
        if t == "." { return .root }
        guard let n = try? DNSName(parsing: t.hasSuffix(".") ? t : t + ".") else {
            throw CorefileError(at, "\(plugin.map { "plugin \"\($0)\": " } ?? "")\(text) is not a domain name")
        }
        return n
    }

    static func flag(_ o: Directive) throws {
        guard o.arguments.isEmpty, o.block == nil else { throw o.error("option \"\(o.name)\" takes no arguments") }
    }

    static func resolvConf(_ path: String, _ d: Directive) throws -> [ForwardConfiguration.Upstream] {
        guard let text = FileContents.text(path) else { throw d.error("plugin \"forward\": cannot read \(path)") }
        let list = try ResolvConf.nameservers(in: text, path: path)
        guard !list.isEmpty else { throw d.error("plugin \"forward\": no nameserver in \(path)") }
        return list
    }

    /// A Go duration (`5s`, `1m30s`, `500ms`, `2h`); a bare number is seconds, as CoreDNS reads some.
    package static func duration(_ text: String) -> Duration? {
        if let n = Int(text), n >= 0 { return .seconds(n) }
        return CorefilePlugins.goDuration(text)
    }
}

/// A running Corefile: where it is, what the command line replaces and adds, and what it
/// loaded last. `reloaded()` reads it again (CoreDNS `reload`).
public struct CorefileSource: Sendable {
    public let path: String
    public let overrides: CorefileOverrides
    /// The command line's additions, applied to each load.
    public let adjust: @Sendable (inout ServeConfiguration) -> Void
    public let load: CorefileLoad

    public init(path: String, overrides: CorefileOverrides, adjust: @escaping @Sendable (inout ServeConfiguration) -> Void = { _ in }) throws {
        self.path = path
        self.overrides = overrides
        self.adjust = adjust
        self.load = try CorefileConfiguration.load(path: path, overrides: overrides)
    }

    /// The configuration to run: the Corefile's, with the command line's additions.
    public var configuration: ServeConfiguration {
        var c = load.configuration
        adjust(&c)
        return c
    }

    public func reloaded() throws -> CorefileSource {
        try CorefileSource(path: path, overrides: overrides, adjust: adjust)
    }
}

extension ServeConfiguration {
    /// What `check --corefile` prints: the configuration as clusterdns will run it.
    public var summary: String {
        var lines: [String] = []
        func add(_ key: String, _ value: String) { lines.append("\(key): \(value)") }
        add("listen", server.listen.map(\.description).joined(separator: " ") + " (UDP and TCP)")
        if index.clusterDomains.isEmpty {
            add("cluster zones", "none (no kubernetes plugin: every name is forwarded)")
        } else {
            var o = ["ttl \(index.ttl)", "pods \(index.pods.rawValue)"]
            if let ns = index.namespaces { o.append("namespaces \(ns.sorted().joined(separator: " "))") }
            if index.endpointPodNames { o.append("endpoint_pod_names") }
            if index.noEndpoints { o.append("noendpoints") }
            if index.ignoreEmptyService { o.append("ignore empty_service") }
            add("cluster zones", index.clusterDomains.map(\.description).joined(separator: " ") + " (\(o.joined(separator: ", ")))")
            let fall = forwarding != nil && server.reverseFallthrough ? "forwarded" : "NXDOMAIN"
            add("reverse zones", index.reverseZones.isEmpty ? "none"
                : index.reverseZones.map(\.description).joined(separator: " ") + " (addresses without a PTR here: \(fall))")
            switch kubernetes {
            case .inCluster?: add("objects", "the Kubernetes API, in-cluster ServiceAccount")
            case .kubeconfig(let path, let context)?: add("objects", "the Kubernetes API, kubeconfig \(path)\(context.map { " context \($0)" } ?? "")")
            case .endpoint(let url)?: add("objects", "the Kubernetes API at \(url), no credentials")
            case nil: break
            }
            if let zonesDirectory { add("objects", "the directory \(zonesDirectory)") }
        }
        if let f = forwarding {
            let root = f.upstreams.isEmpty ? (readResolvConf ? "the nameservers of \(resolvConf)" : "none (SERVFAIL)")
                : f.upstreams.map(\.description).joined(separator: " ")
            add("forward .", root + (f.forceTCP ? " (TCP only)" : ""))
            for stub in f.stubs {
                add("forward \(stub.domain)", stub.upstreams.isEmpty ? "none: the block has no forward (SERVFAIL for what its plugins leave)"
                    : stub.upstreams.map(\.description).joined(separator: " ") + (stub.forceTCP ? " (TCP only)" : ""))
            }
            let fails = f.maxFails == Int.max ? "never marked down" : "down after \(f.maxFails) failures, probed every \(f.healthCheckInterval)"
            add("upstreams", "max_concurrent \(f.maxConcurrent), \(fails)")
            let c = f.cache
            if c.size == 0 || (c.maxTTL == 0 && c.maxDenialTTL == 0) {
                add("cache", "off")
            } else {
                var o = ["\(c.size) entries", "success ≤ \(c.maxTTL) s", "denial ≤ \(c.maxDenialTTL) s"]
                o.append(c.prefetchHits > 0 ? "prefetch after \(c.prefetchHits) hits" : "no prefetch")
                if let stale = c.serveStale { o.append("serve_stale \(stale)") }
                add("cache", o.joined(separator: ", "))
            }
        } else {
            add("forward", "off: names outside our zones are REFUSED")
        }
        for line in server.pluginLines { add("plugin", line) }
        add("loadbalance", server.loadBalance ? "round_robin" : "off")
        add("autopath", server.autopath ? "@kubernetes" : "off")
        add("log", server.logQueries ? "every query" : "errors only")
        add("udp size", "\(server.udpSize)")
        add("health", operations.health.map { "\($0) (lameduck \(operations.lameDuck))" } ?? "off")
        add("ready", operations.ready?.description ?? "off")
        add("prometheus", operations.metrics?.description ?? "off (no query metrics)")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ServerConfiguration {
    /// Each server block's hosts, template, rewrite, chaos and whoami, by its zones.
    var pluginLines: [String] {
        (plugins?.blocks ?? []).filter(\.hasPlugins).flatMap { b in
            b.summary.map { "\(b.zones.map(\.description).joined(separator: " ")) \($0)" }
        }
    }
}
