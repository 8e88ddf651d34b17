import DNSResponder
import DNSWire
import Logging
import NIOCore
import Prometheus
import Synchronization

/// The query metrics, under CoreDNS's names and labels so existing dashboards and alerts keep
/// working (`coredns_dns_*`, CoreDNS plugin/metrics), and the listeners' own event counts under
/// `clusterdns_`. Labels are low-cardinality by construction: zones we serve, a fixed type list,
/// rcodes, proto and family; never names or client addresses.
public final class DNSMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Whether replies are recorded at all (off when nothing scrapes: no `/metrics` listener).
    public let recordQueries: Bool
    private let exported = Mutex<[String: Int]>([:])

    /// CoreDNS's buckets: request duration 0.25 ms … 8.192 s doubling; sizes in bytes.
    static let durationBuckets: [Duration] = (0..<16).map { .nanoseconds(250_000 << $0) }
    static let sizeBuckets: [Double] = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3]

    public init(registry: PrometheusCollectorRegistry, recordQueries: Bool) {
        self.registry = registry
        self.recordQueries = recordQueries
    }

    /// One per handler (so per event loop for UDP, per connection for TCP): it caches the metric
    /// handles of the label sets it has seen, so a reply costs a dictionary lookup and a few
    /// atomic adds, not a registry lookup.
    func recorder(server: String, proto: String, logger: Logger, logQueries: Bool) -> QueryRecorder {
        QueryRecorder(metrics: self, server: "dns://\(server)", proto: proto, logger: logger, logQueries: logQueries)
    }

    /// Copies the listeners' counters (the source of truth, also read by the log summary) into
    /// their Prometheus counters; called before each scrape.
    public func export(_ counters: ServerCounters) {
        let snapshot = counters.snapshot()
        exported.withLock { last in
            for (reason, value) in snapshot.drops {
                let delta = value - last["drop." + reason, default: 0]
                if delta > 0 {
                    registry.makeCounter(descriptor: .metric("clusterdns_dropped_packets_total", "Packets dropped without a reply, by reason."), labels: [("reason", reason)]).increment(by: Int64(delta))
                }
                last["drop." + reason] = value
            }
        }
        registry.makeGauge(descriptor: .metric("clusterdns_tcp_connections_open", "TCP connections open now."))
            .set(Double(snapshot.tcpOpen))
    }

    /// The `type` label: CoreDNS's list of common types, everything else `other`.
    static let typeLabels: [UInt16: String] = {
        var t: [UInt16: String] = [:]
        for (v, n) in [(1, "A"), (2, "NS"), (5, "CNAME"), (6, "SOA"), (12, "PTR"), (13, "HINFO"), (15, "MX"), (16, "TXT"),
                       (28, "AAAA"), (33, "SRV"), (35, "NAPTR"), (41, "OPT"), (43, "DS"), (46, "RRSIG"), (47, "NSEC"),
                       (48, "DNSKEY"), (50, "NSEC3"), (64, "SVCB"), (65, "HTTPS"), (99, "SPF"), (251, "IXFR"),
                       (252, "AXFR"), (255, "ANY")] as [(UInt16, String)] {
            t[v] = n
        }
        return t
    }()
}

/// Loop-confined: used only from the handler that owns it.
final class QueryRecorder {
    struct RequestKey: Hashable {
        var zone: DNSName?
        var type: UInt16
        var family: UInt8
    }

    struct RequestHandles {
        var requests: Counter
        var duration: DurationHistogram
        var requestSize: ValueHistogram
        var responseSize: ValueHistogram
    }

    struct ResponseKey: Hashable {
        var zone: DNSName?
        var rcode: UInt16
    }

    let metrics: DNSMetrics
    let server: String
    let proto: String
    let logger: Logger
    let logQueries: Bool
    private var requests: [RequestKey: RequestHandles] = [:]
    private var responses: [ResponseKey: Counter] = [:]

    init(metrics: DNSMetrics, server: String, proto: String, logger: Logger, logQueries: Bool) {
        self.metrics = metrics
        self.server = server
        self.proto = proto
        self.logger = logger
        self.logQueries = logQueries
    }

    var active: Bool { metrics.recordQueries || logQueries }

    /// Records one reply. `started` is when the query was read (NIODeadline uptime nanoseconds).
    func record(_ info: QueryProcessor.ReplyInfo, client: SocketAddress, requestSize: Int, responseSize: Int, started: UInt64) {
        let nanos = Int64(MonotonicClock.nanoseconds() &- started)
        if metrics.recordQueries {
            let family: UInt8 = client.protocol == .inet6 ? 2 : 1
            let key = RequestKey(zone: info.zone, type: info.question?.type.rawValue ?? 0, family: family)
            let h = requests[key] ?? makeRequestHandles(key)
            h.requests.increment()
            h.duration.recordNanoseconds(nanos)
            h.requestSize.record(Double(requestSize))
            h.responseSize.record(Double(responseSize))
            let rkey = ResponseKey(zone: info.zone, rcode: info.rcode.rawValue)
            (responses[rkey] ?? makeResponseCounter(rkey)).increment()
        }
        if logQueries {
            logger.info("query", metadata: [
                "client": "\(Self.format(client))",
                "name": "\(info.question.map { $0.name.description } ?? "-")",
                "type": "\(info.question.map { $0.type.description } ?? "-")",
                "proto": "\(proto)",
                "rcode": "\(info.rcode)",
                "size": "\(responseSize)",
                "duration_us": "\(nanos / 1000)",
            ])
        }
    }

    static func format(_ a: SocketAddress) -> String {
        let ip = a.ipAddress ?? "?"
        return a.protocol == .inet6 ? "[\(ip)]:\(a.port ?? 0)" : "\(ip):\(a.port ?? 0)"
    }

    private func zoneLabel(_ zone: DNSName?) -> String {
        zone?.description ?? "."
    }

    private func makeRequestHandles(_ key: RequestKey) -> RequestHandles {
        let r = metrics.registry
        let zone = zoneLabel(key.zone)
        let type = DNSMetrics.typeLabels[key.type] ?? "other"
        let h = RequestHandles(
            requests: r.makeCounter(descriptor: .metric("coredns_dns_requests_total", "Counter of DNS requests made per zone, protocol and family."), labels: [("server", server), ("zone", zone), ("proto", proto), ("family", "\(key.family)"), ("type", type)]),
            duration: r.makeDurationHistogram(descriptor: .metric("coredns_dns_request_duration_seconds", "Histogram of the time (in seconds) each request took per zone."), labels: [("server", server), ("zone", zone), ("type", type)],
                                              buckets: DNSMetrics.durationBuckets),
            requestSize: r.makeValueHistogram(descriptor: .metric("coredns_dns_request_size_bytes", "Size of the request in bytes."), labels: [("server", server), ("zone", zone), ("proto", proto)],
                                              buckets: DNSMetrics.sizeBuckets),
            responseSize: r.makeValueHistogram(descriptor: .metric("coredns_dns_response_size_bytes", "Size of the returned response in bytes."), labels: [("server", server), ("zone", zone), ("proto", proto)],
                                               buckets: DNSMetrics.sizeBuckets))
        requests[key] = h
        return h
    }

    private func makeResponseCounter(_ key: ResponseKey) -> Counter {
        let c = metrics.registry.makeCounter(
            descriptor: .metric("coredns_dns_responses_total", "Counter of response status codes."),
            labels: [("server", server), ("zone", zoneLabel(key.zone)), ("rcode", "\(ResponseCode(rawValue: key.rcode))")])
        responses[key] = c
        return c
    }
}

/// Monotonic nanoseconds, the clock NIO's deadlines use.
enum MonotonicClock {
    @inline(__always)
    static func nanoseconds() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
}

extension MetricNameDescriptor {
    /// A metric by its full name (CoreDNS's names are kept verbatim) with its HELP text.
    public static func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
