import DNSWire
import Foundation
import KubeModel
import Prometheus
import RecordIndex
import Synchronization

/// The `clusterdns_` families about data rather than packets: what the index holds, how builds
/// go, how fresh each source is. Gauges are set when a snapshot is published; "seconds since the
/// last sync" is computed when Prometheus scrapes.
public final class AppMetrics: Sendable {
    public static let version = "0.4.0"

    public let registry: PrometheusCollectorRegistry
    private let lastSync = Mutex<[String: ContinuousClock.Instant]>([:])
    private let seenTypes = Mutex<Set<RecordType>>([])
    private let builds: Counter
    private let buildDuration: DurationHistogram
    // clusterdns_snapshot_*: one per published snapshot (a batch of events).

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        registry.makeGauge(descriptor: .metric("coredns_build_info", "A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built."), labels: [("version", Self.version), ("revision", "clusterdns"), ("goversion", "swift")])
            .set(Int64(1))
        builds = registry.makeCounter(descriptor: .metric("clusterdns_snapshot_builds_total", "Snapshots built and published."))
        buildDuration = registry.makeDurationHistogram(
            descriptor: .metric("clusterdns_snapshot_build_duration_seconds", "Time to build a snapshot from the sources' objects."),
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)])
    }

    /// After a snapshot is published: object and record counts, the build, the source's sync time.
    func published(_ snapshot: Snapshot, objects: [(ObjectKind, Int)], build: Duration) {
        builds.increment()
        buildDuration.record(build)
        for (kind, n) in objects {
            registry.makeGauge(descriptor: .metric("clusterdns_index_objects", "Kubernetes objects in the index, by kind."), labels: [("kind", kind.metricLabel)]).set(Double(n))
        }
        let byType = snapshot.stats.recordsByType
        let types = seenTypes.withLock { seen -> Set<RecordType> in
            seen.formUnion(byType.keys)
            return seen
        }
        for type in types {
            registry.makeGauge(descriptor: .metric("clusterdns_index_records", "Records served from the index, by type."), labels: [("type", "\(type)")]).set(Double(byType[type] ?? 0))
        }
    }

    /// A source is up to date now (a reload with nothing new counts too).
    public func synced(_ source: String) {
        lastSync.withLock { $0[source] = .now }
    }

    public func reloadError(_ source: String, count: Int = 1) {
        registry.makeCounter(descriptor: .metric("clusterdns_reload_errors_total", "Source errors (unreadable or invalid files, failed lists and watches); the last good data keeps serving."), labels: [("source", source)])
            .increment(by: Int64(count))
    }

    /// Called before each scrape.
    public func refreshAges() {
        let now = ContinuousClock.Instant.now
        for (source, at) in lastSync.withLock({ $0 }) {
            let age = now - at
            registry.makeGauge(descriptor: .metric("clusterdns_source_seconds_since_sync", "Seconds since the source last confirmed its data is current."), labels: [("source", source)])
                .set(Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18)
        }
    }
}
