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

    /// The object kind the rules read items of this resource as (list items carry no `kind`).
    var kindName: String {
        switch self {
        case .namespaces: return "Namespace"
        case .services: return "Service"
        case .endpointslices: return "EndpointSlice"
        case .pods: return "Pod"
        }
    }

    public var kind: ObjectKind {
        switch self {
        case .namespaces: return .namespace
        case .services: return .service
        case .endpointslices: return .endpointSlice
        case .pods: return .pod
        }
    }
}

/// Lists then watches every resource DNS needs and hands the slim objects to the index as
/// events; it keeps none itself (the index owns them). Each resource is one loop: list
/// (paginated, each page delivered as it is decoded) → watch from the list's resourceVersion
/// (bookmarks on) → on a clean end watch again from the last version seen, on 410 Gone list
/// again, on errors back off with jitter. A list is a replace: what it did not deliver is
/// deleted only when it completes, so a relist is a diff and the index is never half-empty.
public final class KubeSource: Sendable {
    public enum State: Sendable, Equatable {
        case listing
        case synced
        case failing(String)
    }

    public struct Options: Sendable {
        public var pageSize = 500
        /// Pods decoded for their addresses only (`ObjectRules.slimPods`).
        public var slimPods = false
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
    private let emit: @Sendable ([SourceUpdate]) -> Void
    private let onState: @Sendable (KubeResource, State) -> Void
    /// Resources listed completely at least once.
    private let listed = Mutex<Set<KubeResource>>([])

    /// `emit` receives the updates in order, from several tasks (one per resource); it must not
    /// block. `onState` hears each resource's state for /ready.
    public init(client: KubeHTTPClient, resources: [KubeResource], options: Options = Options(), logger: Logger,
                emit: @escaping @Sendable ([SourceUpdate]) -> Void, onState: @escaping @Sendable (KubeResource, State) -> Void) {
        self.client = client
        self.resources = resources
        self.options = options
        self.logger = logger
        self.emit = emit
        self.onState = onState
    }

    /// True once every resource has been listed completely at least once.
    public var synced: Bool { listed.withLock { $0.count == resources.count } }

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

    func synced(_ r: KubeResource) -> Bool { listed.withLock { $0.contains(r) } }

    func report(_ r: KubeResource, _ error: Error, doing verb: String) {
        let why = Self.explain(error, resource: r, verb: verb, server: client.credentials.serverURL)
        logger.error("kubernetes \(verb) failed; serving the last good data", metadata: ["resource": "\(r.rawValue)", "error": "\(why)"])
        onState(r, .failing(why))
    }

    /// The operator's words for a failure: unreachable, 401, 403 with the missing RBAC rule.
    static func explain(_ error: Error, resource r: KubeResource, verb: String, server: String) -> String {
        if let e = error as? KubeHTTPClient.HTTPError {
            let message = (try? JSONValue.parse(Array(e.body.utf8)))?["message"]?.text ?? e.body
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

    /// Lists every page, delivering each as it is decoded, then ends the replace (what the list
    /// did not name is deleted). Returns the list's resourceVersion.
    func list(_ r: KubeResource) async throws -> String {
        var continueToken: String?
        var version = ""
        var count = 0
        emit([.beginReplace(.api, [r.kind])])
        repeat {
            var query = "?limit=\(options.pageSize)"
            if let c = continueToken { query += "&continue=\(Self.escape(c))" }
            let body = try await client.get(r.path + query)
            let page = try decodeList(r, body)
            count += page.items.count
            emit([.events(.api, page.items.map(ObjectEvent.upsert), arrived: .now)])
            continueToken = page.continueToken.flatMap { $0.isEmpty ? nil : $0 }
            version = page.resourceVersion ?? version
        } while continueToken != nil
        let (first, all) = listed.withLock { l in (l.insert(r).inserted, l.count == resources.count) }
        var updates: [SourceUpdate] = [.endReplace(.api, [r.kind], arrived: .now)]
        if first && all { updates.append(.synced(.api)) }
        emit(updates)
        logger.info("listed", metadata: ["resource": "\(r.rawValue)", "objects": "\(count)", "resourceVersion": "\(version)"])
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
            let event = try decodeEvent(r, line)
            let arrived = ContinuousClock.Instant.now
            switch event {
            case .upsert(let obj, let v):
                rv = v ?? rv
                emit([.events(.api, [.upsert(obj)], arrived: arrived)])
            case .delete(let name, let v):
                rv = v ?? rv
                emit([.events(.api, [.delete(r.kind, name)], arrived: arrived)])
            case .bookmark(let v):
                rv = v ?? rv
            case .gone:
                throw Gone()
            case .error(let code, let message):
                throw KubeHTTPClient.HTTPError(status: code, body: message)
            case .ignored:
                break
            }
        }
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    // MARK: decoding (package: the watch fuzz check runs them in any build)

    package struct Page {
        package var items: [ClusterObject]
        package var resourceVersion: String?
        package var continueToken: String?
    }

    /// A list page: every item through the object rules the manifests use. An item the rules
    /// reject is reported and skipped, never the page.
    package func decodeList(_ r: KubeResource, _ body: [UInt8]) throws -> Page {
        let list = try JSONValue.parse(body)
        let rules = ObjectRules<JSONValue>(file: r.rawValue, slimPods: options.slimPods)
        var items: [ClusterObject] = []
        for item in list["items"]?.items ?? [] {
            do {
                items += try rules.read(kind: r.kindName, item) ?? []
            } catch {
                logger.warning("object skipped", metadata: ["resource": "\(r.rawValue)", "error": "\(error.message)"])
            }
        }
        let meta = list["metadata"]
        return Page(items: items, resourceVersion: meta?["resourceVersion"]?.text, continueToken: meta?["continue"]?.text)
    }

    package enum Event {
        case upsert(ClusterObject, String?)
        case delete(ObjectName, String?)
        case bookmark(String?)
        case gone
        case error(code: Int, message: String)
        case ignored
    }

    package func decodeEvent(_ r: KubeResource, _ line: [UInt8]) throws -> Event {
        let event = try JSONValue.parse(line)
        guard let type = event["type"]?.text, let object = event["object"] else {
            throw JSONValue.ParseError(offset: 0, message: "a watch event needs type and object")
        }
        let meta = object["metadata"]
        let rv = meta?["resourceVersion"]?.text
        switch type {
        case "ERROR":
            let code = object["code"]?.integer
            return code == 410 ? .gone : .error(code: code ?? 500, message: object["message"]?.text ?? "watch error")
        case "BOOKMARK":
            return .bookmark(rv)
        case "DELETED":
            guard let name = meta?["name"]?.text else { return .ignored }
            return .delete(ObjectName(namespace: r == .namespaces ? "" : meta?["namespace"]?.text ?? "", name: name), rv)
        case "ADDED", "MODIFIED":
            do {
                guard let obj = try ObjectRules<JSONValue>(file: r.rawValue, slimPods: options.slimPods).read(kind: r.kindName, object)?.first
                else { return .ignored }
                return .upsert(obj, rv)
            } catch {
                // Its new version is unusable: stop serving the old one too, as a relist would
                // (it skips the object, and the replace then deletes it).
                logger.warning("object skipped", metadata: ["resource": "\(r.rawValue)", "error": "\(error.message)"])
                guard let name = meta?["name"]?.text else { return .ignored }
                return .delete(ObjectName(namespace: r == .namespaces ? "" : meta?["namespace"]?.text ?? "", name: name), rv)
            }
        default:
            return .ignored
        }
    }
}
