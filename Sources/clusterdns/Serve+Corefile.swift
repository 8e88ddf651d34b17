import ArgumentParser
import ClusterDNSApp
import DNSServer
import Forwarding
import Logging

/// `serve --corefile PATH` (`-conf PATH`): the Corefile is the configuration; the flags that say
/// where things are (objects, listeners, upstreams, HTTP endpoints) replace what it says, and
/// the flags that only clusterdns has add to it. A flag that would set what the Corefile sets
/// (a TTL, the cache) is an error rather than a silent winner.
extension Serve {
    func corefileConfiguration(_ path: String, logger: Logger) throws -> (ServeConfiguration, CorefileSource) {
        let conflicting: [(String, Bool)] = [
            ("--cluster-domain", !index.clusterDomains.isEmpty), ("--reverse-zone", !index.reverseZones.isEmpty),
            ("--ttl", index.ttl != 5), ("--pods", index.pods != "disabled"), ("--namespace", !index.namespaces.isEmpty),
            ("--endpoint-pod-names", index.endpointPodNames), ("--ignore-empty-service", index.ignoreEmptyService),
            ("--no-endpoints", index.noEndpoints), ("--udp-size", udpSize != 1232), ("--no-loadbalance", noLoadBalance),
            ("--autopath", autopath), ("--lameduck", lameDuck != 5), ("--stub", !forward.stubs.isEmpty),
            ("--force-tcp", forward.forceTCP), ("--max-concurrent", forward.maxConcurrent != 1000),
            ("--cache-size", forward.cacheSize != 10_000), ("--cache-ttl", forward.cacheTTL != 30),
            ("--cache-denial-ttl", forward.cacheDenialTTL != 30), ("--prefetch", forward.prefetch != 2),
            ("--serve-stale", forward.serveStale != 0), ("--kubernetes", kubernetes),
        ]
        if let (flag, _) = conflicting.first(where: \.1) {
            throw ValidationError("\(flag) cannot be combined with --corefile: say it in the Corefile (`clusterdns check --corefile \(path)` shows what it sets)")
        }
        var overrides = CorefileOverrides()
        overrides.zonesDirectory = zones
        if let kubeconfig { overrides.kubernetes = .kubeconfig(path: kubeconfig, context: context) }
        else if context != nil { throw ValidationError("--context needs --kubeconfig") }
        overrides.listen = try listen.map { try Self.endpoint($0, "--listen") }
        overrides.resolvConf = forward.resolvConf
        if forward.upstreams == ["off"] {
            overrides.forwardingOff = true
        } else if !forward.upstreams.isEmpty {
            overrides.upstreams = try forward.upstreams.map { try ForwardFlags.upstream($0, "--upstream") }
        }
        if let healthListen { overrides.health = .some(try Self.optionalEndpoint(healthListen, "--health-listen")) }
        if let readyListen { overrides.ready = .some(try Self.optionalEndpoint(readyListen, "--ready-listen")) }
        if let metricsListen { overrides.metrics = .some(try Self.optionalEndpoint(metricsListen, "--metrics-listen")) }

        guard maxTCPQueries >= 0 else { throw ValidationError("--max-tcp-queries must be 0 (no limit) or more") }
        guard (0.05...4).contains(forward.upstreamTimeout) else { throw ValidationError("--upstream-timeout must be between 0.05 and 4 seconds") }
        guard reloadInterval >= 0.05, reloadInterval <= 86_400 else { throw ValidationError("--reload-interval must be between 0.05 and 86400 seconds") }
        guard logSummaryInterval >= 1 else { throw ValidationError("--log-summary-interval must be at least 1 second") }
        let (tcpIdle, tcpMax, tcpQueries, logAll, filter, pods) = (tcpIdleTimeout, maxTCPConnections, maxTCPQueries, logQueries, filterAAAA, autopathPods)
        let (attempt, zonesInterval, summary) = (forward.upstreamTimeout, reloadInterval, logSummaryInterval)
        // What only clusterdns has: applied to the Corefile's configuration, also after a reload.
        let source = try CorefileSource(path: path, overrides: overrides) { c in
            c.server.tcpIdleTimeout = Int64(tcpIdle)
            c.server.maxTCPConnections = tcpMax
            c.server.maxQueriesPerConnection = tcpQueries
            c.server.logQueries = c.server.logQueries || logAll
            c.server.filterAAAA = filter
            c.autopathPods = pods && c.server.autopath
            if var f = c.forwarding {
                f.attemptTimeout = .milliseconds(Int(attempt * 1000))
                f.deadline = max(f.deadline, f.attemptTimeout)
                c.forwarding = f
            }
            c.reloadInterval = .milliseconds(Int64(zonesInterval * 1000))
            c.operations.summaryInterval = .seconds(summary)
        }
        if autopathPods, !source.configuration.server.autopath {
            throw ValidationError("--autopath-pods needs `autopath @kubernetes` in the Corefile")
        }
        for w in source.load.warnings { logger.warning("\(w)") }
        logger.info("configuration from the Corefile", metadata: ["corefile": "\(path)", "files": "\(source.load.files.count)"])
        return (source.configuration, source)
    }
}
