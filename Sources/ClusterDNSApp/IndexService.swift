import CSystemMalloc
import DNSWire
import KubeModel
import Logging
import Prometheus
import RecordIndex
import Synchronization

/// The one owner of the cluster objects (DESIGN.md, "one owner"): sources submit updates, which
/// only enqueue; one task applies them in order to the `ClusterIndex`, derives what they
/// touched and publishes one snapshot per batch. A batch is whatever arrived while the previous
/// one was applied, so a burst coalesces without any added wait, and no lock is held across a
/// build (the inbox lock covers an append or a swap).
///
/// Origins listed in `waitingFor` (the API watcher) are held back until they say `synced` (the
/// index keeps their objects aside, bounded by what they hold): until then they are not served and the cluster zones answer SERVFAIL for every name they
/// do not hold from other origins (spec D18), never a premature NXDOMAIN or NODATA.
final class IndexService: Sendable {
    struct Inbox {
        var updates: [SourceUpdate] = []
        var zoneFiles: [Zone]?
        var barriers: [CheckedContinuation<Void, Never>] = []
    }

    let options: IndexOptions
    let store: SnapshotStore
    let metrics: IndexMetrics
    let logger: Logger
    let waitingFor: Set<Origin>
    private let inbox = Mutex(Inbox())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Called once per origin of `waitingFor`, after the first snapshot that serves its objects.
    private let onSynced: @Sendable (Origin) -> Void

    init(options: IndexOptions, store: SnapshotStore, metrics: IndexMetrics, logger: Logger,
         waitingFor: Set<Origin>, onSynced: @escaping @Sendable (Origin) -> Void = { _ in }) {
        self.options = options
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.waitingFor = waitingFor
        self.onSynced = onSynced
        (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues updates; returns at once.
    func submit(_ updates: [SourceUpdate]) {
        guard !updates.isEmpty else { return }
        inbox.withLock { $0.updates += updates }
        wake.yield()
    }

    /// Replaces the zone files served beside the cluster zones.
    func submit(zoneFiles: [Zone]) {
        inbox.withLock { $0.zoneFiles = zoneFiles }
        wake.yield()
    }

    /// Returns once everything submitted before the call is in a published snapshot.
    func flush() async {
        await withCheckedContinuation { c in
            inbox.withLock { $0.barriers.append(c) }
            wake.yield()
        }
    }

    /// Applies and publishes until cancelled.
    func run() async {
        var state = State(index: ClusterIndex(options: options), waiting: waitingFor)
        for origin in waitingFor { state.index.hold(origin) }
        publish(&state, batch: Batch())
        for await _ in wakeups {
            let taken = inbox.withLock { i -> Inbox in
                defer { i = Inbox() }
                return i
            }
            let clock = ContinuousClock()
            let start = clock.now
            var batch = Batch()
            for update in taken.updates { apply(update, &state, &batch) }
            if let files = taken.zoneFiles {
                state.zoneFiles = files
                batch.zoneFilesChanged = true
            }
            if batch.changed || batch.zoneFilesChanged || state.neverPublished {
                batch.applyTime = clock.now - start
                publish(&state, batch: batch)
            }
            taken.barriers.forEach { $0.resume() }
            if Task.isCancelled { break }
        }
        // Anyone still waiting is released: the process is shutting down.
        inbox.withLock { i in i.barriers.forEach { $0.resume() }; i.barriers = [] }
    }

    struct State {
        var index: ClusterIndex
        /// Origins not yet synced: the index keeps their objects aside until they are.
        var waiting: Set<Origin>
        var zoneFiles: [Zone] = []
        var lastSerial: UInt32 = 0
        var neverPublished = true
        /// Per origin and kinds in a replace: what the replace did, for its log line.
        var replaces: [ReplaceKey: ReplaceDiff] = [:]
        var newlySynced: [Origin] = []
    }

    struct ReplaceKey: Hashable {
        var origin: Origin
        var kinds: [ObjectKind]
    }

    struct ReplaceDiff {
        var added = 0, changed = 0, unchanged = 0, deleted = 0
    }

    struct Batch {
        var events = 0
        var eventsByKind: [ObjectKind: Int] = [:]
        var arrivals: [(ContinuousClock.Instant, Int)] = []
        var changed = false
        var zoneFilesChanged = false
        var large = false
        var applyTime: Duration = .zero
    }

    func apply(_ update: SourceUpdate, _ state: inout State, _ batch: inout Batch) {
        let origin: Origin
        switch update {
        case .events(let o, _, _), .beginReplace(let o, _), .endReplace(let o, _, _), .synced(let o): origin = o
        }
        if case .synced = update, state.waiting.contains(origin) {
            state.waiting.remove(origin)
            state.index.release(origin)
            state.newlySynced.append(origin)
            batch.changed = true
            batch.large = true
            return
        }
        switch update {
        case .events(let origin, let events, let arrived):
            for event in events {
                let effect = state.index.apply(event, from: origin)
                let kind: ObjectKind
                switch event {
                case .upsert(let o): kind = o.kind
                case .delete(let k, _): kind = k
                }
                batch.eventsByKind[kind, default: 0] += 1
                // The replace this event belongs to, if one is open: a relist's own kind, or a
                // file's every kind.
                if let key = state.replaces.keys.first(where: { $0.origin == origin && $0.kinds.contains(kind) }) {
                    switch effect {
                    case .added: state.replaces[key]!.added += 1
                    case .changed: state.replaces[key]!.changed += 1
                    case .unchanged: state.replaces[key]!.unchanged += 1
                    case .deleted: state.replaces[key]!.deleted += 1
                    }
                }
            }
            batch.events += events.count
            // Propagation is measured for what is served: not for events held before the sync.
            if origin == .api && !state.waiting.contains(origin) { batch.arrivals.append((arrived, events.count)) }
            batch.changed = true
            if events.count > 1000 { batch.large = true }
        case .beginReplace(let origin, let kinds):
            state.index.beginReplace(origin, kinds: kinds)
            state.replaces[ReplaceKey(origin: origin, kinds: kinds)] = ReplaceDiff()
        case .endReplace(let origin, let kinds, _):
            let deleted = state.index.endReplace(origin, kinds: kinds)
            batch.changed = true
            if var diff = state.replaces.removeValue(forKey: ReplaceKey(origin: origin, kinds: kinds)) {
                diff.deleted += deleted
                let level: Logger.Level = origin == .api ? .info : .debug
                logger.log(level: level, "replace applied as a diff", metadata: [
                    "origin": "\(origin)", "kinds": "\(kinds.map(\.rawValue).joined(separator: ","))",
                    "added": "\(diff.added)", "changed": "\(diff.changed)", "deleted": "\(diff.deleted)", "unchanged": "\(diff.unchanged)",
                ])
                if diff.added + diff.deleted + diff.changed > 1000 { batch.large = true }
            }
        case .synced:
            break
        }
    }

    func publish(_ state: inout State, batch: Batch) {
        let clock = ContinuousClock()
        let start = clock.now
        state.lastSerial = max(state.lastSerial &+ 1, ClusterDNS.unixTime())
        let (zones, stats) = state.index.publish(serial: state.lastSerial, synced: state.waiting.isEmpty)
        let (snapshot, ignored) = Snapshot.assemble(cluster: zones, files: state.zoneFiles, stats: stats,
                                                    clients: state.index.clientNamespaces)
        store.publish(snapshot)
        let now = clock.now
        let build = batch.applyTime + (now - start)
        if batch.zoneFilesChanged {
            for z in ignored {
                logger.error("zone file ignored: its apex is served from cluster objects", metadata: ["zone": "\(z.apex)", "file": "\(z.kind)"])
            }
        }
        metrics.published(snapshot, index: state.index, batch: batch, build: build, now: now)
        // A large batch leaves the previous snapshot's pages and decode buffers free: give them
        // back rather than keep the high-water mark resident. Small batches free little.
        if batch.large { csm_trim() }
        let level: Logger.Level = state.neverPublished || batch.large ? .info : .debug
        logger.log(level: level, "snapshot published", metadata: [
            "events": "\(batch.events)", "services": "\(stats.services)", "endpoints": "\(stats.endpoints)",
            "names": "\(snapshot.stats.names)", "records": "\(snapshot.stats.records)",
            "build_us": "\(build.microseconds)",
        ])
        state.neverPublished = false
        for origin in state.newlySynced { onSynced(origin) }
        state.newlySynced = []
    }
}

/// The families about the update path: events applied, batch sizes and times, propagation.
final class IndexMetrics: Sendable {
    let app: AppMetrics
    private let propagation: DurationHistogram
    private let eventApply: DurationHistogram
    private let batchEvents: ValueHistogram

    init(app: AppMetrics) {
        self.app = app
        let registry = app.registry
        propagation = registry.makeDurationHistogram(
            descriptor: .metric("clusterdns_watch_propagation_seconds",
                                "Time from a watch event's arrival to the snapshot that answers it being published."),
            buckets: [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                      .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                      .seconds(1), .seconds(2.5), .seconds(5)])
        eventApply = registry.makeDurationHistogram(
            descriptor: .metric("clusterdns_index_event_apply_seconds",
                                "Time to apply one object event and publish, per event (a batch's time shared by its events)."),
            buckets: [.microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
                      .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(50)])
        batchEvents = registry.makeValueHistogram(
            descriptor: .metric("clusterdns_index_batch_events", "Object events applied per published snapshot."),
            buckets: Self.batchBuckets)
    }

    /// Held here as well as in the registry, which keeps its copy inside an enum payload whose
    /// tag bits LeakSanitizer cannot see through (it reported the array as leaked).
    static let batchBuckets: [Double] = [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 100000]

    func published(_ snapshot: Snapshot, index: ClusterIndex, batch: IndexService.Batch, build: Duration, now: ContinuousClock.Instant) {
        app.published(snapshot, objects: ObjectKind.allCases.map { ($0, index.objectCount($0)) }, build: build)
        for (kind, n) in batch.eventsByKind {
            app.registry.makeCounter(descriptor: .metric("clusterdns_index_events_total", "Object events applied to the index, by kind."),
                                     labels: [("kind", kind.metricLabel)]).increment(by: Int64(n))
        }
        guard batch.events > 0 else { return }
        batchEvents.record(Double(batch.events))
        let perEvent = build / batch.events
        for _ in 0..<min(batch.events, 1000) { eventApply.record(perEvent) }
        for (arrived, n) in batch.arrivals {
            for _ in 0..<min(n, 100) { propagation.record(now - arrived) }
        }
    }
}


extension ObjectKind {
    /// The `kind` label CoreDNS-style dashboards expect: lower case, one word.
    var metricLabel: String {
        switch self {
        case .namespace: return "namespace"
        case .service: return "service"
        case .endpointSlice: return "endpointslice"
        case .pod: return "pod"
        }
    }
}

extension Duration {
    var microseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}
