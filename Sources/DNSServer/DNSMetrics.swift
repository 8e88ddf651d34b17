import DNSResponder
import DNSWire
import Forwarding
import Logging
import NIOCore
import Prometheus
import Synchronization

/// The query metrics, under CoreDNS's names and labels so existing dashboards and alerts keep
/// working (`coredns_dns_*`, CoreDNS plugin/metrics), and the listeners' own event counts under
/// `clusterdns_`. Labels are low-cardinality by construction: zones we serve, a fixed type list,
/// rcodes, proto and family; never names or client addresses.
///
/// The five per-query families are tallied by each listener thread in plain integers, under a
/// lock of its own that only a scrape contends, and rendered at scrape time; recording them through swift-prometheus's
/// histograms (a lock and a generic bucket walk each) cost 10–25 % CPU per query in `make bench`.
/// Everything else goes through the swift-prometheus registry.
public final class DNSMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Whether replies are recorded at all (off when nothing scrapes: no `/metrics` listener).
    public let recordQueries: Bool
    private let exported = Mutex<[String: Int]>([:])
    private let recorders = Mutex<[QueryRecorder]>([])

    /// CoreDNS's buckets: request duration 0.25 ms … 8.192 s doubling; sizes in bytes.
    static let durationBucketsNanos: [Int64] = (0..<16).map { 250_000 << $0 }
    static let sizeBuckets: [Int] = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000]

    public init(registry: PrometheusCollectorRegistry, recordQueries: Bool) {
        self.registry = registry
        self.recordQueries = recordQueries
    }

    /// One per UDP listener thread, and one per TCP listener and event loop.
    package func recorder(server: String, proto: String, logger: Logger, logQueries: Bool) -> QueryRecorder {
        let r = QueryRecorder(server: "dns://\(server)", proto: proto, record: recordQueries, logger: logger, logQueries: logQueries)
        recorders.withLock { $0.append(r) }
        return r
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

    /// The query families in Prometheus text format, summed over the listeners.
    public func emitQueryFamilies(into out: inout String) {
        guard recordQueries else { return }
        var requests: [[String]: Int] = [:]
        var responses: [[String]: Int] = [:]
        var durations: [[String]: BucketCounts] = [:]
        var requestSizes: [[String]: BucketCounts] = [:]
        var responseSizes: [[String]: BucketCounts] = [:]
        for recorder in recorders.withLock({ $0 }) {
            let (server, proto) = (recorder.server, recorder.proto)
            let book = recorder.read()
            for (key, t) in book.requests {
                let zone = Self.zoneLabel(book.zones[key & 0xFFFF]), type = Self.typeLabels[UInt16((key >> 16) & 0xFFFF)] ?? "other"
                requests[[server, zone, proto, "\(key >> 32)", type], default: 0] += t.count
                durations[[server, zone, type], default: BucketCounts(Self.durationBucketsNanos.count)].add(t.duration)
                requestSizes[[server, zone, proto], default: BucketCounts(Self.sizeBuckets.count)].add(t.requestSize)
                responseSizes[[server, zone, proto], default: BucketCounts(Self.sizeBuckets.count)].add(t.responseSize)
            }
            for (key, n) in book.responses {
                responses[[server, Self.zoneLabel(book.zones[key & 0xFFFF]), "\(ResponseCode(rawValue: UInt16(key >> 16)))"], default: 0] += n
            }
        }
        Self.counter(&out, "coredns_dns_requests_total", "Counter of DNS requests made per zone, protocol and family.",
                     ["server", "zone", "proto", "family", "type"], requests)
        Self.counter(&out, "coredns_dns_responses_total", "Counter of response status codes.", ["server", "zone", "rcode"], responses)
        Self.histogram(&out, "coredns_dns_request_duration_seconds", "Histogram of the time (in seconds) each request took per zone.",
                       ["server", "zone", "type"], durations, bounds: Self.durationBucketsNanos.map { Double($0) / 1e9 }, scale: 1e-9)
        Self.histogram(&out, "coredns_dns_request_size_bytes", "Size of the request in bytes.",
                       ["server", "zone", "proto"], requestSizes, bounds: Self.sizeBuckets.map(Double.init), scale: 1)
        Self.histogram(&out, "coredns_dns_response_size_bytes", "Size of the returned response in bytes.",
                       ["server", "zone", "proto"], responseSizes, bounds: Self.sizeBuckets.map(Double.init), scale: 1)
    }

    /// The forwarder's and cache's families (CoreDNS's `cache` and `forward` names).
    public static func emitForwardFamilies(_ forwarder: Forwarder, into out: inout String) {
        for family in forwarder.metricFamilies() {
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
            for sample in family.samples {
                out += family.name + sample.suffix + labels(sample.labels.map(\.0), sample.labels.map(\.1)) + " " + format(sample.value) + "\n"
            }
        }
    }

    /// Autopath's and the AAAA filter's counts (`SearchCounters`).
    public static func emitSearchFamilies(_ c: SearchCounters, into out: inout String) {
        counter(&out, "clusterdns_autopath_total", "Search paths walked for a client (autopath), by result: hit (answered a found name behind a CNAME) or miss.",
                ["result"], [["hit"]: c.hits.load(ordering: .relaxed), ["miss"]: c.misses.load(ordering: .relaxed)])
        counter(&out, "clusterdns_autopath_saved_queries_total", "Search-path questions clients did not have to ask, thanks to autopath hits.",
                [], [[]: c.savedQueries.load(ordering: .relaxed)])
        counter(&out, "clusterdns_filtered_aaaa_total", "AAAA questions answered NODATA instead of going upstream (--filter-aaaa).",
                [], [[]: c.filteredAAAA.load(ordering: .relaxed)])
    }

    static func zoneLabel(_ zone: DNSName?) -> String { zone?.description ?? "." }

    static func labels(_ names: [String], _ values: [String], extra: String? = nil) -> String {
        var parts = zip(names, values).map { "\($0)=\"\($1)\"" }
        if let extra { parts.append(extra) }
        return parts.isEmpty ? "" : "{" + parts.joined(separator: ",") + "}"
    }

    static func counter(_ out: inout String, _ name: String, _ help: String, _ names: [String], _ series: [[String]: Int]) {
        guard !series.isEmpty else { return }
        out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
        for (values, n) in series.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            out += "\(name)\(labels(names, values)) \(n)\n"
        }
    }

    static func histogram(_ out: inout String, _ name: String, _ help: String, _ names: [String], _ series: [[String]: BucketCounts],
                          bounds: [Double], scale: Double) {
        guard !series.isEmpty else { return }
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (values, h) in series.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            var cumulative = 0
            for (i, bound) in bounds.enumerated() {
                cumulative += h.buckets[i]
                out += "\(name)_bucket\(labels(names, values, extra: "le=\"\(format(bound))\"")) \(cumulative)\n"
            }
            out += "\(name)_bucket\(labels(names, values, extra: "le=\"+Inf\"")) \(h.count)\n"
            out += "\(name)_sum\(labels(names, values)) \(format(Double(h.sum) * scale))\n"
            out += "\(name)_count\(labels(names, values)) \(h.count)\n"
        }
    }

    /// `100`, not `100.0`, as Go's Prometheus client writes bucket bounds.
    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
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

/// Per-bucket (not cumulative) counts, a sum and a count.
struct BucketCounts {
    var buckets: [Int]
    var sum: Int64 = 0
    var count = 0

    init(_ bounds: Int) { buckets = Array(repeating: 0, count: bounds) }

    @inline(__always)
    mutating func record<T: BinaryInteger>(_ value: T, bounds: [T]) {
        count += 1
        sum &+= Int64(value)
        // Values above the last bound only count toward +Inf.
        for i in bounds.indices where value <= bounds[i] {
            buckets[i] += 1
            return
        }
    }

    mutating func add(_ other: BucketCounts) {
        for i in buckets.indices { buckets[i] += other.buckets[i] }
        sum &+= other.sum
        count += other.count
    }
}

/// Records replies for one UDP listener thread, or for the TCP connections of one listener on
/// one event loop. That thread does nearly all the recording (forwarded UDP replies are recorded
/// from the forwarder's loop), so its lock is contended only by a scrape and those: no lock is
/// shared between the threads answering queries.
package final class QueryRecorder: Sendable {
    struct Tally {
        var count = 0
        var duration = BucketCounts(DNSMetrics.durationBucketsNanos.count)
        var requestSize = BucketCounts(DNSMetrics.sizeBuckets.count)
        var responseSize = BucketCounts(DNSMetrics.sizeBuckets.count)
    }

    /// Keys pack a zone slot (index into `zones`), the type or rcode and the family into an Int.
    struct Book {
        var zones: [DNSName?] = []
        var requests: [Int: Tally] = [:]
        var responses: [Int: Int] = [:]
    }

    let server: String
    let proto: String
    let recordMetrics: Bool
    let logger: Logger
    let logQueries: Bool
    private let book = Mutex(Book())

    init(server: String, proto: String, record: Bool, logger: Logger, logQueries: Bool) {
        self.server = server
        self.proto = proto
        self.recordMetrics = record
        self.logger = logger
        self.logQueries = logQueries
    }

    var active: Bool { recordMetrics || logQueries }

    /// A copy of the tallies.
    func read() -> Book {
        book.withLock { $0 }
    }

    /// Records one reply. `started` is when the query was read (monotonic nanoseconds); `name`
    /// is evaluated only for the query log.
    func record(rcode: ResponseCode, type: RecordType?, zone: DNSName?, inet6: Bool, client: @autoclosure () -> String,
                requestSize: Int, responseSize: Int, started: UInt64, name: @autoclosure () -> String) {
        let nanos = Int64(MonotonicClock.nanoseconds() &- started)
        if recordMetrics {
            book.withLock { book in
                let slot = Self.zoneSlot(zone, &book)
                let family = inet6 ? 2 : 1
                book.requests[slot | Int(type?.rawValue ?? 0) << 16 | family << 32, default: Tally()].record(nanos, requestSize, responseSize)
                book.responses[slot | Int(rcode.rawValue) << 16, default: 0] += 1
            }
        }
        if logQueries {
            logger.info("query", metadata: [
                "client": "\(client())",
                "name": "\(name())",
                "type": "\(type.map { $0.description } ?? "-")",
                "proto": "\(proto)",
                "rcode": "\(rcode)",
                "size": "\(responseSize)",
                "duration_us": "\(nanos / 1000)",
            ])
        }
    }

    func record(_ info: QueryProcessor.ReplyInfo, client: SocketAddress, requestSize: Int, responseSize: Int, started: UInt64) {
        record(info, inet6: client.protocol == .inet6, client: Self.format(client), requestSize: requestSize, responseSize: responseSize,
               started: started)
    }

    /// A reply from the long way, the cache or an upstream, described by its `ReplyInfo`.
    func record(_ info: QueryProcessor.ReplyInfo, inet6: Bool, client: @autoclosure () -> String, requestSize: Int, responseSize: Int,
                started: UInt64) {
        record(rcode: info.rcode, type: info.question?.type, zone: info.zone, inet6: inet6, client: client(), requestSize: requestSize,
               responseSize: responseSize, started: started, name: info.question.map { $0.name.description } ?? "-")
    }

    /// The zones seen are few (ours, and "." for the rest): a short list, compared by value.
    private static func zoneSlot(_ zone: DNSName?, _ book: inout Book) -> Int {
        // Most queries fall in a zone seen before, as the very same bytes: compare storage first.
        if let zone {
            let key = zone.wire.withUnsafeBufferPointer { $0.baseAddress }
            for (i, z) in book.zones.enumerated() where z?.wire.withUnsafeBufferPointer({ $0.baseAddress }) == key { return i }
        }
        for (i, z) in book.zones.enumerated() where z == zone { return i }
        guard book.zones.count < 0xFFFF else { return 0xFFFF - 1 }
        book.zones.append(zone)
        return book.zones.count - 1
    }

    /// The question's name, for the query log only.
    static func questionName<C: Collection>(_ datagram: C) -> String where C.Element == UInt8 {
        var reader = WireReader(Array(datagram), offset: Header.size)
        return (try? reader.readQuestion().name.description) ?? "-"
    }

    static func format(_ a: SocketAddress) -> String {
        let ip = a.ipAddress ?? "?"
        return a.protocol == .inet6 ? "[\(ip)]:\(a.port ?? 0)" : "\(ip):\(a.port ?? 0)"
    }
}

extension QueryRecorder.Tally {
    @inline(__always)
    mutating func record(_ nanos: Int64, _ requestSize: Int, _ responseSize: Int) {
        count += 1
        duration.record(nanos, bounds: DNSMetrics.durationBucketsNanos)
        self.requestSize.record(requestSize, bounds: DNSMetrics.sizeBuckets)
        self.responseSize.record(responseSize, bounds: DNSMetrics.sizeBuckets)
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
