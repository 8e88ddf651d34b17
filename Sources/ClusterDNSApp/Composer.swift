import CSystemMalloc
import KubeAPI
import KubeSources
import Logging
import Prometheus
import RecordIndex
import Synchronization

/// Publishes snapshots from every source at once: the zones directory's latest load plus the
/// API watcher's objects, one build at a time. A build is from complete inputs only (each
/// source replaces its own part whole), so a query never sees half of a change.
final class Composer: Sendable {
    struct State {
        var assembler: SnapshotAssembler
        var directory = ManifestDirectory.Load()
    }

    private let state: Mutex<State>
    private let kube = Mutex<KubeSource?>(nil)
    let store: SnapshotStore
    let metrics: AppMetrics
    let logger: Logger
    private let propagation: DurationHistogram

    init(options: IndexOptions, store: SnapshotStore, metrics: AppMetrics, logger: Logger) {
        state = Mutex(State(assembler: SnapshotAssembler(options: options)))
        self.store = store
        self.metrics = metrics
        self.logger = logger
        propagation = metrics.registry.makeDurationHistogram(
            descriptor: .metric("clusterdns_watch_propagation_seconds",
                                "Time from a watch event's arrival to the snapshot that answers it being published."),
            buckets: [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                      .seconds(1), .seconds(2.5), .seconds(5)])
    }

    func attach(_ source: KubeSource) {
        kube.withLock { $0 = source }
    }

    /// The directory changed (or loaded first): keep its load and rebuild.
    func directoryLoaded(_ load: ManifestDirectory.Load, loadTime: Duration) {
        state.withLock { $0.directory = load }
        rebuild(source: "zones", loadTime: loadTime, logLevel: .info)
    }

    /// Builds and publishes a snapshot from what every source holds now.
    func rebuild(source: String, loadTime: Duration = .zero, logLevel: Logger.Level) {
        let kube = self.kube.withLock { $0 }
        let clock = ContinuousClock()
        state.withLock { s in
            // Arrival times first: events that land after this are in the objects read below
            // or in the next build, never lost.
            let pending = kube?.takePending() ?? []
            var load = s.directory
            if let kube { load.objects.merge(kube.objects()) }
            let start = clock.now
            let snapshot = s.assembler.assemble(load, now: ClusterDNS.unixTime(), synced: kube?.synced ?? true, logger: logger)
            store.publish(snapshot)
            let now = clock.now
            for arrived in pending { propagation.record(now - arrived) }
            metrics.published(snapshot, objects: load.objects, build: now - start, source: source)
            // The old snapshot is gone once no query holds it; give its pages back rather than
            // keep the high-water mark of every rebuild resident.
            csm_trim()
            let stats = snapshot.stats
            logger.log(level: logLevel, "snapshot published", metadata: [
                "source": "\(source)", "services": "\(stats.services)", "endpoints": "\(stats.endpoints)",
                "names": "\(stats.names)", "records": "\(stats.records)",
                "load_ms": "\(loadTime.milliseconds)", "build_ms": "\((now - start).milliseconds)",
            ])
        }
    }
}
