import Foundation
import KubeModel
import Logging
import Metrics
import NIOCore
import NIOPosix
import Synchronization

/// The resources DNS reads, with their list/watch paths and the RBAC rule each needs.
public enum KubeResource: String, CaseIterable, Sendable {
    case namespaces, services, endpointslices, pods

    public var path: String {
        switch self {
        case .namespaces: return "/api/v1/namespaces"
        case .services: return "/api/v1/services"
        case .endpointslices: return "/apis/discovery.k8s.io/v1/endpointslices"
        case .pods: return "/api/v1/pods"
        }
    }

    public var apiGroup: String { self == .endpointslices ? "discovery.k8s.io" : "" }
}

/// One object as the index keeps it: slim, keyed by namespace/name.
enum StoredObject: Sendable {
    case namespace(Namespace)
    case service(Service)
    case slice(EndpointSlice)
    case pod(Pod)
}

/// Lists then watches every resource DNS needs and keeps the slim objects. Each resource is
/// one loop: list (paginated) → replace its objects at once → watch from the list's
/// resourceVersion (bookmarks on) → on a clean end watch again from the last version seen, on
/// 410 Gone list again, on errors back off with jitter. A relist replaces the old objects only
/// when complete, so the index is never half-empty.
public final class KubeSource: Sendable {
    public enum State: Sendable, Equatable {
        case listing
        case synced
        case failing(String)
    }

    public struct Options: Sendable {
        public var pageSize = 500
        /// Watch `timeoutSeconds` range (client-go: 5–10 minutes).
        public var watchTimeout: ClosedRange<Int> = 300...600
        public var backoffInitial: Duration = .milliseconds(250)
        public var backoffMax: Duration = .seconds(8)
        public init() {}
    }

    public let client: KubeHTTPClient
    public let resources: [KubeResource]
    let options: Options
    let logger: Logger
    private let onChange: @Sendable () -> Void
    private let onState: @Sendable (KubeResource, State) -> Void
    private let state = Mutex<Store>(Store())

    struct Store {
        var objects: [KubeResource: [String: StoredObject]] = [:]
        var synced: Set<KubeResource> = []
        /// When each event not yet in a published snapshot arrived (propagation metric).
        var pending: [ContinuousClock.Instant] = []
    }

    public init(client: KubeHTTPClient, resources: [KubeResource], options: Options = Options(), logger: Logger,
                onChange: @escaping @Sendable () -> Void, onState: @escaping @Sendable (KubeResource, State) -> Void) {
        self.client = client
        self.resources = resources
        self.options = options
        self.logger = logger
        self.onChange = onChange
        self.onState = onState
    }

    /// True once every resource has been listed completely at least once.
    public var synced: Bool { state.withLock { $0.synced.count == resources.count } }

    /// The current objects of every resource.
    public func objects() -> ClusterObjects {
        state.withLock { s in
            var o = ClusterObjects()
            for (_, byKey) in s.objects {
                for obj in byKey.values {
                    switch obj {
                    case .namespace(let n): o.namespaces.append(n)
                    case .service(let x): o.services.append(x)
                    case .slice(let x): o.endpointSlices.append(x)
                    case .pod(let x): o.pods.append(x)
                    }
                }
            }
            return o
        }
    }

    /// Arrival times of the events applied since the last call (for the propagation metric).
    public func takePending() -> [ContinuousClock.Instant] {
        state.withLock { s in
            defer { s.pending = [] }
            return s.pending
        }
    }

    /// Runs until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for r in resources {
                group.addTask { await self.loop(r) }
            }
        }
    }

    struct Gone: Error {}

    func loop(_ r: KubeResource) async {
        var backoff = options.backoffInitial
        let restarts = Counter(label: "clusterdns_watch_restarts_total", dimensions: [("resource", r.rawValue)])
        let relists = Counter(label: "clusterdns_relists_total", dimensions: [("resource", r.rawValue)])
        let errors = Counter(label: "clusterdns_reload_errors_total", dimensions: [("source", "kubernetes")])
        var listedOnce = false
        while !Task.isCancelled {
            // List.
            let version: String
            do {
                if listedOnce { relists.increment() }
                if !synced(r) { onState(r, .listing) }
                version = try await list(r)
                listedOnce = true
                backoff = options.backoffInitial
                onState(r, .synced)
            } catch {
                if Task.isCancelled { return }
                errors.increment()
                report(r, error, doing: "list")
                await sleep(jittered(&backoff))
                continue
            }
            // Watch until 410.
            var rv = version
            while !Task.isCancelled {
                do {
                    // `rv` advances with every event even when the stream then fails, so a
                    // dropped connection resumes where it stopped.
                    try await watch(r, resourceVersion: &rv)
                    backoff = options.backoffInitial
                } catch is Gone {
                    logger.info("watch expired (410 Gone): listing again", metadata: ["resource": "\(r.rawValue)"])
                    break
                } catch {
                    if Task.isCancelled { return }
                    restarts.increment()
                    errors.increment()
                    report(r, error, doing: "watch")
                    await sleep(jittered(&backoff))
                    continue
                }
                restarts.increment()
            }
        }
    }

    func synced(_ r: KubeResource) -> Bool { state.withLock { $0.synced.contains(r) } }

    func report(_ r: KubeResource, _ error: Error, doing verb: String) {
        let why = Self.explain(error, resource: r, verb: verb, server: client.credentials.serverURL)
        logger.error("kubernetes \(verb) failed; serving the last good data", metadata: ["resource": "\(r.rawValue)", "error": "\(why)"])
        onState(r, .failing(why))
    }

    /// The operator's words for a failure: unreachable, 401, 403 with the missing RBAC rule.
    static func explain(_ error: Error, resource r: KubeResource, verb: String, server: String) -> String {
        if let e = error as? KubeHTTPClient.HTTPError {
            let message = (try? JSONDecoder().decode(KubeJSON.Status.self, from: Data(e.body.utf8)))?.message ?? e.body
            switch e.status {
            case 401:
                return "401 Unauthorized from \(server): the token or client certificate was not accepted"
            case 403:
                return "403 Forbidden: missing RBAC rule: \(verb) \(r.rawValue) in API group \"\(r.apiGroup)\" (\(message))"
            default:
                return "HTTP \(e.status) on \(verb) \(r.rawValue): \(message)"
            }
        }
        if verb == "watch", !(error is NIOConnectionError), !(error is IOError) {
            return "watch of \(r.rawValue) interrupted: \(error)"
        }
        return "API server \(server) unreachable: \(error)"
    }

    func jittered(_ backoff: inout Duration) -> Duration {
        let d = backoff * Double.random(in: 0.5..<1.5)
        backoff = min(backoff * 2, options.backoffMax)
        return d
    }

    func sleep(_ d: Duration) async {
        try? await Task.sleep(for: d)
    }

    /// Lists every page, then replaces the resource's objects in one step. Returns the list's
    /// resourceVersion.
    func list(_ r: KubeResource) async throws -> String {
        var fresh: [String: StoredObject] = [:]
        var continueToken: String?
        var version = ""
        repeat {
            var query = "?limit=\(options.pageSize)"
            if let c = continueToken { query += "&continue=\(Self.escape(c))" }
            let body = try await client.get(r.path + query)
            let page = try Self.decodeList(r, body)
            for (key, obj) in page.items { fresh[key] = obj }
            continueToken = page.continueToken.flatMap { $0.isEmpty ? nil : $0 }
            version = page.resourceVersion ?? version
        } while continueToken != nil
        let count = fresh.count
        state.withLock { s in
            s.objects[r] = fresh
            s.synced.insert(r)
            s.pending.append(.now)
        }
        logger.info("listed", metadata: ["resource": "\(r.rawValue)", "objects": "\(count)", "resourceVersion": "\(version)"])
        onChange()
        return version
    }

    /// Watches from `rv`, advancing it with every event and bookmark, until the server ends the
    /// stream (returns) or it fails (throws).
    func watch(_ r: KubeResource, resourceVersion rv: inout String) async throws {
        let timeout = Int.random(in: options.watchTimeout)
        let path = r.path + "?watch=true&allowWatchBookmarks=true&resourceVersion=\(Self.escape(rv))&timeoutSeconds=\(timeout)"
        let stream: AsyncThrowingStream<[UInt8], Error>
        do {
            stream = try await client.lines(path, readTimeout: .seconds(Int64(timeout + 30)))
        } catch let e as KubeHTTPClient.HTTPError where e.status == 410 {
            // Some servers answer an expired version with the status itself, not an event.
            throw Gone()
        }
        // Connected and accepted: a failure reported earlier is over.
        onState(r, .synced)
        for try await line in stream {
            let event = try Self.decodeEvent(r, line)
            let arrived = ContinuousClock.Instant.now
            switch event {
            case .upsert(let key, let obj, let v):
                rv = v ?? rv
                state.withLock { s in
                    s.objects[r, default: [:]][key] = obj
                    s.pending.append(arrived)
                }
                onChange()
            case .delete(let key, let v):
                rv = v ?? rv
                state.withLock { s in
                    s.objects[r]?[key] = nil
                    s.pending.append(arrived)
                }
                onChange()
            case .bookmark(let v):
                rv = v ?? rv
            case .gone:
                throw Gone()
            case .error(let status):
                throw KubeHTTPClient.HTTPError(status: status.code ?? 500, body: status.message ?? "watch error")
            case .ignored:
                break
            }
        }
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    // MARK: decoding

    struct Page {
        var items: [(String, StoredObject)]
        var resourceVersion: String?
        var continueToken: String?
    }

    static func key(_ ns: String?, _ name: String) -> String { (ns ?? "") + "/" + name }

    static func decodeList(_ r: KubeResource, _ body: [UInt8]) throws -> Page {
        let d = JSONDecoder()
        let data = Data(body)
        func page<T: Decodable>(_: T.Type, _ convert: (T) -> (String, StoredObject)?) throws -> Page {
            let list = try d.decode(KubeJSON.List<T>.self, from: data)
            return Page(items: (list.items ?? []).compactMap(convert), resourceVersion: list.metadata?.resourceVersion,
                        continueToken: list.metadata?.continue)
        }
        switch r {
        case .namespaces: return try page(KubeJSON.NamespaceJSON.self) { j in j.model.map { (key(nil, $0.name), .namespace($0)) } }
        case .services: return try page(KubeJSON.ServiceJSON.self) { j in j.model.map { (key($0.namespace, $0.name), .service($0)) } }
        case .endpointslices: return try page(KubeJSON.EndpointSliceJSON.self) { j in j.model.map { (key($0.namespace, $0.name), .slice($0)) } }
        case .pods: return try page(KubeJSON.PodJSON.self) { j in j.model.map { (key($0.namespace, $0.name), .pod($0)) } }
        }
    }

    enum Event {
        case upsert(String, StoredObject, String?)
        case delete(String, String?)
        case bookmark(String?)
        case gone
        case error(KubeJSON.Status)
        case ignored
    }

    struct EventType: Decodable { var type: String }

    static func decodeEvent(_ r: KubeResource, _ line: [UInt8]) throws -> Event {
        let d = JSONDecoder()
        let data = Data(line)
        let type = try d.decode(EventType.self, from: data).type
        switch type {
        case "ERROR":
            let status = try d.decode(KubeJSON.WatchEvent<KubeJSON.Status>.self, from: data).object
            return status.code == 410 ? .gone : .error(status)
        case "BOOKMARK":
            return .bookmark(try d.decode(KubeJSON.WatchEvent<KubeJSON.MetaOnly>.self, from: data).object.metadata?.resourceVersion)
        case "DELETED":
            let meta = try d.decode(KubeJSON.WatchEvent<KubeJSON.MetaOnly>.self, from: data).object.metadata
            guard let name = meta?.name else { return .ignored }
            return .delete(key(r == .namespaces ? nil : meta?.namespace, name), meta?.resourceVersion)
        case "ADDED", "MODIFIED":
            let rv = try d.decode(KubeJSON.WatchEvent<KubeJSON.MetaOnly>.self, from: data).object.metadata?.resourceVersion
            let obj: (String, StoredObject)?
            switch r {
            case .namespaces: obj = try d.decode(KubeJSON.WatchEvent<KubeJSON.NamespaceJSON>.self, from: data).object.model.map { (key(nil, $0.name), .namespace($0)) }
            case .services: obj = try d.decode(KubeJSON.WatchEvent<KubeJSON.ServiceJSON>.self, from: data).object.model.map { (key($0.namespace, $0.name), .service($0)) }
            case .endpointslices: obj = try d.decode(KubeJSON.WatchEvent<KubeJSON.EndpointSliceJSON>.self, from: data).object.model.map { (key($0.namespace, $0.name), .slice($0)) }
            case .pods: obj = try d.decode(KubeJSON.WatchEvent<KubeJSON.PodJSON>.self, from: data).object.model.map { (key($0.namespace, $0.name), .pod($0)) }
            }
            guard let (k, o) = obj else { return .ignored }
            return .upsert(k, o, rv)
        default:
            return .ignored
        }
    }
}
