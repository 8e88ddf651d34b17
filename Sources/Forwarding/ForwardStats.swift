import DNSWire
import Synchronization

/// The forwarder's and cache's counts, lock-free; rendered at scrape time under CoreDNS's metric
/// names (`coredns_cache_*`, `coredns_forward_*`) so the usual dashboards keep working.
public final class ForwardStats: Sendable {
    let cacheRequests = Atomic<Int>(0)
    let cacheHitsSuccess = Atomic<Int>(0)
    let cacheHitsDenial = Atomic<Int>(0)
    let cacheMisses = Atomic<Int>(0)
    let prefetches = Atomic<Int>(0)
    let servedStale = Atomic<Int>(0)
    let maxConcurrentRejects = Atomic<Int>(0)
    let healthCheckBroken = Atomic<Int>(0)
    let truncatedRetries = Atomic<Int>(0)
    let loops = Atomic<Int>(0)
    let ignoredReplies = Mutex([IgnoredReply: Int]())

    func ignored(_ reason: IgnoredReply) {
        ignoredReplies.withLock { $0[reason, default: 0] += 1 }
    }
}

/// A family of samples, ready to print: name, help, type, and (labels, value) rows.
public struct MetricFamily: Sendable {
    public var name: String
    public var help: String
    public var type: String
    /// `suffix` is appended to the name: `_bucket`, `_sum`, `_count` for histograms, else empty.
    public var samples: [(suffix: String, labels: [(String, String)], value: Double)]
}

extension Forwarder {
    /// Everything the forwarder and the cache count, as Prometheus families.
    public func metricFamilies() -> [MetricFamily] {
        func counter(_ name: String, _ help: String, _ samples: [([(String, String)], Int)]) -> MetricFamily {
            MetricFamily(name: name, help: help, type: "counter", samples: samples.map { ("", $0.0, Double($0.1)) })
        }
        let s = stats
        let entries = cache.counts()
        let upstreams = allUpstreams
        var responses: [([(String, String)], Int)] = []
        var durations: [(suffix: String, labels: [(String, String)], value: Double)] = []
        for u in upstreams {
            let counts = u.responses.withLock { $0 }
            let d = u.durations.withLock { $0 }
            for (rc, value) in counts.enumerated() {
                if value > 0 { responses.append(([("to", u.label), ("rcode", rc < 16 ? "\(ResponseCode(rawValue: UInt16(rc)))" : "OTHER")], value)) }
            }
            // Histogram rows: cumulative buckets, +Inf, sum, count (text format 0.0.4).
            var cumulative = 0
            for (i, bound) in UpstreamState.durationBoundsNanos.enumerated() {
                cumulative += d.buckets[i]
                durations.append(("_bucket", [("to", u.label), ("le", "\(Double(bound) / 1e9)")], Double(cumulative)))
            }
            let total = counts.reduce(0, +)
            durations.append(("_bucket", [("to", u.label), ("le", "+Inf")], Double(total)))
            durations.append(("_sum", [("to", u.label)], Double(d.sum) / 1e9))
            durations.append(("_count", [("to", u.label)], Double(total)))
        }
        var out = [
            counter("coredns_cache_requests_total", "The count of cache requests.", [([], s.cacheRequests.load(ordering: .relaxed))]),
            counter("coredns_cache_hits_total", "The count of cache hits.", [
                ([("type", "success")], s.cacheHitsSuccess.load(ordering: .relaxed)),
                ([("type", "denial")], s.cacheHitsDenial.load(ordering: .relaxed)),
            ]),
            counter("coredns_cache_misses_total", "The count of cache misses.", [([], s.cacheMisses.load(ordering: .relaxed))]),
            counter("coredns_cache_prefetch_total", "The number of times the cache has prefetched a cached item.", [([], s.prefetches.load(ordering: .relaxed))]),
            counter("coredns_cache_served_stale_total", "The number of requests served from stale cache entries.", [([], s.servedStale.load(ordering: .relaxed))]),
            counter("coredns_cache_evictions_total", "The count of cache evictions.", [([], cache.evictions.load(ordering: .relaxed))]),
            MetricFamily(name: "coredns_cache_entries", help: "The number of elements in the cache.", type: "gauge",
                         samples: [("", [("type", "success")], Double(entries.success)), ("", [("type", "denial")], Double(entries.denial))]),
            counter("coredns_forward_requests_total", "Counter of requests made per upstream.",
                    upstreams.map { ([("to", $0.label)], $0.requests.load(ordering: .relaxed)) }),
            counter("coredns_forward_responses_total", "Counter of responses received per upstream.", responses),
            counter("coredns_forward_healthcheck_failures_total", "Counter of the number of failed healthchecks.",
                    upstreams.map { ([("to", $0.label)], $0.healthCheckFailures.load(ordering: .relaxed)) }),
            counter("coredns_forward_healthcheck_broken_total", "Counter of the number of complete failures of the healthchecks.",
                    [([], s.healthCheckBroken.load(ordering: .relaxed))]),
            counter("coredns_forward_max_concurrent_rejects_total", "Counter of the number of queries rejected because the concurrent queries were at maximum.",
                    [([], s.maxConcurrentRejects.load(ordering: .relaxed))]),
            counter("clusterdns_forward_ignored_replies_total", "Upstream packets ignored: wrong source, ID or question, or malformed.",
                    IgnoredReply.allCases.map { r in ([("reason", r.rawValue)], s.ignoredReplies.withLock { $0[r, default: 0] }) }),
            counter("clusterdns_forward_tcp_retries_total", "Truncated UDP replies asked again over TCP.", [([], s.truncatedRetries.load(ordering: .relaxed))]),
            counter("clusterdns_forward_loops_total", "Queries of ours that came back to us (forwarding loops).", [([], s.loops.load(ordering: .relaxed))]),
        ]
        out.append(MetricFamily(name: "coredns_forward_request_duration_seconds", help: "Histogram of the time each request took.", type: "histogram", samples: durations))
        return out
    }
}
