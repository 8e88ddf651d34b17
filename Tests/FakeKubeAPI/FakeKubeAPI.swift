import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A Kubernetes API server for tests, speaking the real protocol as client-go and kubectl use
/// it: discovery, paginated lists (`limit`/`continue`) with `resourceVersion`, watches as a
/// chunked stream of JSON events (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR with a 410 Status),
/// TLS with a generated CA, bearer tokens with 401 and 403 worded as the real server words them.
/// Tests drive it: apply and delete objects, compact history (410), drop watches, send bookmarks,
/// rotate tokens, forbid a resource.
public final class FakeKubeAPI: Sendable {
    public struct Resource: Sendable, Hashable {
        public var plural: String
        public var kind: String
        public var group: String
        public var namespaced: Bool
        public var shortNames: [String]
        var apiVersion: String { group.isEmpty ? "v1" : group + "/v1" }
        var listPath: String { group.isEmpty ? "/api/v1/" + plural : "/apis/\(group)/v1/" + plural }

        public static let namespaces = Resource(plural: "namespaces", kind: "Namespace", group: "", namespaced: false, shortNames: ["ns"])
        public static let services = Resource(plural: "services", kind: "Service", group: "", namespaced: true, shortNames: ["svc"])
        public static let pods = Resource(plural: "pods", kind: "Pod", group: "", namespaced: true, shortNames: ["po"])
        public static let endpointslices = Resource(plural: "endpointslices", kind: "EndpointSlice", group: "discovery.k8s.io", namespaced: true, shortNames: [])
        public static let all: [Resource] = [.namespaces, .services, .pods, .endpointslices]
    }

    struct Stored {
        var json: [String: Any]
        var rv: Int
    }

    struct Event {
        var rv: Int
        var resource: String
        var type: String
        var object: [String: Any]
    }

    final class Watch: @unchecked Sendable {
        let channel: Channel
        let resource: String
        let namespace: String?
        let bookmarks: Bool
        init(channel: Channel, resource: String, namespace: String?, bookmarks: Bool) {
            self.channel = channel
            self.resource = resource
            self.namespace = namespace
            self.bookmarks = bookmarks
        }
    }

    struct State: @unchecked Sendable {
        var rv = 1000
        var objects: [String: [String: Stored]] = [:]
        var events: [Event] = []
        var compactedThrough = 0
        var watches: [ObjectIdentifier: Watch] = [:]
        var tokens: Set<String>
        var forbidden: Set<String> = []
        var requests: [String] = []
        var splitChunks = true
        var goneAsHTTPStatus = false
    }

    let state: Mutex<State>
    public let port: Int
    public let certificates: Certificates?
    private let channel: Channel
    private let group: MultiThreadedEventLoopGroup

    /// The files a client needs: the CA to trust, and where they live.
    public struct Certificates: Sendable {
        public var directory: String
        public var caPath: String { directory + "/ca.crt" }
        public var serverCertPath: String { directory + "/server.crt" }
        public var serverKeyPath: String { directory + "/server.key" }
    }

    /// Starts on 127.0.0.1 (`port` 0: any free port). With `tls`, a CA and a server certificate
    /// for 127.0.0.1 and localhost are generated with openssl first.
    /// `certificates`: reuse ones made earlier (a server started later on a known port).
    public static func start(port: Int = 0, tls: Bool = true, tokens: Set<String> = ["test-token"],
                             certificates: Certificates? = nil) throws -> FakeKubeAPI {
        try FakeKubeAPI(port: port, tls: tls, tokens: tokens, certificates: certificates)
    }

    init(port: Int, tls: Bool, tokens: Set<String>, certificates given: Certificates?) throws {
        state = Mutex(State(tokens: tokens))
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var sslContext: NIOSSLContext?
        if tls {
            let certs = try given ?? Self.generateCertificates()
            certificates = certs
            let config = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certs.serverCertPath).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: certs.serverKeyPath, format: .pem)))
            sslContext = try NIOSSLContext(configuration: config)
        } else {
            certificates = nil
        }
        let box = WeakBox()
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext { try sync.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(APIHandler(api: box))
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
        self.port = channel.localAddress?.port ?? port
        box.api = self
    }

    public var serverURL: String { "\(certificates == nil ? "http" : "https")://127.0.0.1:\(port)" }

    public func stop() {
        let watches = state.withLock { s -> [Watch] in
            defer { s.watches = [:] }
            return Array(s.watches.values)
        }
        for w in watches { w.channel.close(promise: nil) }
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    // MARK: test controls

    /// Creates or replaces an object (ADDED or MODIFIED to watchers).
    public func apply(_ resource: Resource, _ object: [String: Any]) {
        var object = object
        object["kind"] = resource.kind
        object["apiVersion"] = resource.apiVersion
        var meta = object["metadata"] as? [String: Any] ?? [:]
        let name = meta["name"] as? String ?? ""
        let ns = resource.namespaced ? (meta["namespace"] as? String ?? "default") : nil
        if let ns { meta["namespace"] = ns }
        state.withLock { s in
            s.rv += 1
            meta["resourceVersion"] = "\(s.rv)"
            object["metadata"] = meta
            let key = (ns ?? "") + "/" + name
            let existed = s.objects[resource.plural]?[key] != nil
            s.objects[resource.plural, default: [:]][key] = Stored(json: object, rv: s.rv)
            record(&s, Event(rv: s.rv, resource: resource.plural, type: existed ? "MODIFIED" : "ADDED", object: object))
        }
    }

    public func delete(_ resource: Resource, namespace: String? = "default", name: String) {
        state.withLock { s in
            let key = (resource.namespaced ? namespace ?? "default" : "") + "/" + name
            guard var stored = s.objects[resource.plural]?[key] else { return }
            s.objects[resource.plural]?[key] = nil
            s.rv += 1
            var meta = stored.json["metadata"] as? [String: Any] ?? [:]
            meta["resourceVersion"] = "\(s.rv)"
            stored.json["metadata"] = meta
            record(&s, Event(rv: s.rv, resource: resource.plural, type: "DELETED", object: stored.json))
        }
    }

    /// Forgets the event history: a watch or continue from any version seen so far gets 410
    /// Gone. The version moves on by one (as other writes move etcd's revision), so a list made
    /// after this returns a version that can be watched from.
    public func compact() {
        state.withLock { s in
            s.rv += 1
            s.compactedThrough = s.rv
            s.events = []
        }
    }

    /// Closes every open watch connection mid-stream (no clean end).
    public func dropWatches() {
        let watches = state.withLock { s -> [Watch] in
            defer { s.watches = [:] }
            return Array(s.watches.values)
        }
        for w in watches { w.channel.close(promise: nil) }
    }

    /// Ends every open watch cleanly, as `timeoutSeconds` does.
    public func endWatches() {
        let watches = state.withLock { s -> [Watch] in
            defer { s.watches = [:] }
            return Array(s.watches.values)
        }
        for w in watches {
            w.channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in w.channel.close(promise: nil) }
        }
    }

    /// Sends a BOOKMARK with the current resourceVersion to watches that asked for bookmarks.
    public func sendBookmarks() {
        state.withLock { s in
            s.rv += 1
            for w in s.watches.values where w.bookmarks {
                let kind = Resource.all.first { $0.plural == w.resource }!
                let event: [String: Any] = ["type": "BOOKMARK", "object": ["kind": kind.kind, "apiVersion": kind.apiVersion,
                                                                             "metadata": ["resourceVersion": "\(s.rv)"]]]
                write(event, to: w, split: s.splitChunks)
            }
        }
    }

    /// Answer a watch from a compacted version with HTTP 410 itself instead of a 200 stream
    /// holding an ERROR event (both happen in the field).
    public func setGoneAsHTTPStatus(_ on: Bool) {
        state.withLock { $0.goneAsHTTPStatus = on }
    }

    public func setTokens(_ tokens: Set<String>) {
        state.withLock { $0.tokens = tokens }
    }

    /// Requests for this resource get 403, as without an RBAC rule.
    public func forbid(_ resources: Set<String>) {
        state.withLock { $0.forbidden = resources }
    }

    /// Every request's method, path and query, in order, with the token it carried.
    public var requests: [String] { state.withLock { $0.requests } }

    public var openWatches: Int { state.withLock { $0.watches.count } }

    public var resourceVersion: Int { state.withLock { $0.rv } }

    // MARK: internals

    private func record(_ s: inout State, _ e: Event) {
        s.events.append(e)
        for w in s.watches.values where w.resource == e.resource {
            if let ns = w.namespace, (e.object["metadata"] as? [String: Any])?["namespace"] as? String != ns { continue }
            write(["type": e.type, "object": e.object], to: w, split: s.splitChunks)
        }
    }

    /// One event as a JSON line; with `split`, cut into two chunks at a random byte so the
    /// client must not assume one event per chunk.
    func write(_ event: [String: Any], to w: Watch, split: Bool) {
        var bytes = (try? JSONSerialization.data(withJSONObject: event)) ?? Data()
        bytes.append(UInt8(ascii: "\n"))
        let channel = w.channel
        if split, bytes.count > 2 {
            let cut = Int.random(in: 1..<bytes.count)
            channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes[..<cut]))), promise: nil)
            channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes[cut...]))), promise: nil)
        } else {
            channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes))), promise: nil)
        }
    }

    struct Reply {
        var status: HTTPResponseStatus
        var body: [String: Any]
    }

    static func status(_ code: Int, _ reason: String, _ message: String) -> Reply {
        Reply(status: HTTPResponseStatus(statusCode: code), body: [
            "kind": "Status", "apiVersion": "v1", "metadata": [String: Any](), "status": "Failure",
            "message": message, "reason": reason, "code": code,
        ])
    }

    enum Route {
        case reply(Reply)
        case watch(Resource, namespace: String?, since: Int?, bookmarks: Bool, timeout: Int?)
    }

    func route(method: HTTPMethod, uri: String, headers: HTTPHeaders) -> Route {
        let comps = URLComponents(string: uri)
        let path = comps?.path ?? uri
        var query: [String: String] = [:]
        for item in comps?.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let token = headers.first(name: "Authorization").flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let (tokens, forbidden) = state.withLock { s -> (Set<String>, Set<String>) in
            s.requests.append("\(method) \(uri) token=\(token ?? "-")")
            return (s.tokens, s.forbidden)
        }
        guard let token, tokens.contains(token) else {
            return .reply(Self.status(401, "Unauthorized", "Unauthorized"))
        }
        switch path {
        case "/version":
            return .reply(Reply(status: .ok, body: ["major": "1", "minor": "31", "gitVersion": "v1.31.0-fake", "platform": "linux/amd64"]))
        case "/api":
            return .reply(Reply(status: .ok, body: ["kind": "APIVersions", "versions": ["v1"],
                                                    "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:\(port)"]]]))
        case "/apis":
            let gv: [String: Any] = ["groupVersion": "discovery.k8s.io/v1", "version": "v1"]
            return .reply(Reply(status: .ok, body: ["kind": "APIGroupList", "apiVersion": "v1",
                                                    "groups": [["name": "discovery.k8s.io", "versions": [gv], "preferredVersion": gv]]]))
        case "/api/v1", "/apis/discovery.k8s.io/v1":
            let group = path == "/api/v1" ? "" : "discovery.k8s.io"
            let resources = Resource.all.filter { $0.group == group }.map { r -> [String: Any] in
                ["name": r.plural, "singularName": r.kind.lowercased(), "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": ["get", "list", "watch"], "shortNames": r.shortNames]
            }
            return .reply(Reply(status: .ok, body: ["kind": "APIResourceList", "apiVersion": "v1",
                                                    "groupVersion": group.isEmpty ? "v1" : group + "/v1", "resources": resources]))
        default:
            break
        }
        // /api/v1/RES, /api/v1/namespaces/NS/RES, and the same under /apis/GROUP/v1.
        var resource: Resource?
        var namespace: String?
        for r in Resource.all {
            let base = r.group.isEmpty ? "/api/v1" : "/apis/\(r.group)/v1"
            if path == base + "/" + r.plural {
                resource = r
            } else if r.namespaced, path.hasPrefix(base + "/namespaces/"), path.hasSuffix("/" + r.plural) {
                let ns = path.dropFirst((base + "/namespaces/").count).dropLast(r.plural.count + 1)
                if !ns.contains("/") {
                    resource = r
                    namespace = String(ns)
                }
            }
        }
        guard let resource, method == .GET else {
            return .reply(Self.status(404, "NotFound", "the server could not find the requested resource"))
        }
        let watching = query["watch"] == "true" || query["watch"] == "1"
        if forbidden.contains(resource.plural) {
            let verb = watching ? "watch" : "list"
            let scope = namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
            return .reply(Self.status(403, "Forbidden",
                                      "\(resource.plural)\(resource.group.isEmpty ? "" : "." + resource.group) is forbidden: User \"system:serviceaccount:kube-system:clusterdns\" cannot \(verb) resource \"\(resource.plural)\" in API group \"\(resource.group)\" \(scope)"))
        }
        if watching {
            let since = query["resourceVersion"].flatMap(Int.init)
            let (goneAsStatus, compacted) = state.withLock { ($0.goneAsHTTPStatus, $0.compactedThrough) }
            if goneAsStatus, let since, since != 0, since < compacted {
                return .reply(Self.status(410, "Expired", "too old resource version: \(since) (\(compacted))"))
            }
            return .watch(resource, namespace: namespace, since: since, bookmarks: query["allowWatchBookmarks"] == "true",
                          timeout: query["timeoutSeconds"].flatMap(Int.init))
        }
        return .reply(list(resource, namespace: namespace, limit: query["limit"].flatMap(Int.init), continueToken: query["continue"]))
    }

    func list(_ r: Resource, namespace: String?, limit: Int?, continueToken: String?) -> Reply {
        state.withLock { s in
            var offset = 0
            if let token = continueToken, !token.isEmpty {
                guard let d = Data(base64Encoded: token), let text = String(data: d, encoding: .utf8) else {
                    return Self.status(400, "BadRequest", "continue key is not valid")
                }
                let parts = text.split(separator: ":").compactMap { Int($0) }
                guard parts.count == 2 else { return Self.status(400, "BadRequest", "continue key is not valid") }
                if parts[0] <= s.compactedThrough {
                    return Self.status(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
                }
                offset = parts[1]
            }
            let all = (s.objects[r.plural] ?? [:]).filter { key, _ in namespace == nil || key.hasPrefix(namespace! + "/") }
                .sorted { $0.key < $1.key }
            let end = limit.map { min(all.count, offset + max($0, 1)) } ?? all.count
            var meta: [String: Any] = ["resourceVersion": "\(s.rv)"]
            if end < all.count {
                meta["continue"] = Data("\(s.rv):\(end)".utf8).base64EncodedString()
                meta["remainingItemCount"] = all.count - end
            }
            let items = offset < end ? all[offset..<end].map { $0.value.json } : []
            return Reply(status: .ok, body: ["kind": r.kind + "List", "apiVersion": r.apiVersion, "metadata": meta, "items": items])
        }
    }

    /// Starts a watch on `channel`: 410 as an ERROR event when `since` is compacted; else the
    /// events after `since` (or the current objects as ADDED when there is none), then live ones.
    func startWatch(_ channel: Channel, _ r: Resource, namespace: String?, since: Int?, bookmarks: Bool, timeout: Int?) {
        state.withLock { s in
            let w = Watch(channel: channel, resource: r.plural, namespace: namespace, bookmarks: bookmarks)
            if let since, since != 0, since < s.compactedThrough {
                let status = Self.status(410, "Expired", "too old resource version: \(since) (\(s.compactedThrough))").body
                write(["type": "ERROR", "object": status], to: w, split: false)
                channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
            if let since, since != 0 {
                for e in s.events where e.rv > since && e.resource == r.plural {
                    if let namespace, (e.object["metadata"] as? [String: Any])?["namespace"] as? String != namespace { continue }
                    write(["type": e.type, "object": e.object], to: w, split: s.splitChunks)
                }
            } else {
                for (key, stored) in (s.objects[r.plural] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    if let namespace, !key.hasPrefix(namespace + "/") { continue }
                    write(["type": "ADDED", "object": stored.json], to: w, split: s.splitChunks)
                }
            }
            s.watches[ObjectIdentifier(channel)] = w
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { _ = $0.watches.removeValue(forKey: ObjectIdentifier(channel)) }
        }
        if let timeout {
            channel.eventLoop.scheduleTask(in: .seconds(Int64(timeout))) {
                channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    /// A CA and a server certificate for 127.0.0.1 and localhost (EC P-256, valid two days).
    public static func generateCertificates() throws -> Certificates {
        let dir = NSTemporaryDirectory() + "fake-kube-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ext = dir + "/server.ext"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/ca.key",
             "-out", dir + "/ca.crt", "-days", "2", "-subj", "/CN=fake-kubernetes-ca",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/server.key",
             "-out", dir + "/server.csr", "-subj", "/CN=kube-apiserver"],
            ["x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key", "-CAcreateserial",
             "-out", dir + "/server.crt", "-days", "2", "-extfile", ext],
        ]
        for args in steps {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw CertificateError(step: args.joined(separator: " ")) }
        }
        return Certificates(directory: dir)
    }

    struct CertificateError: Error, CustomStringConvertible {
        var step: String
        var description: String { "openssl failed: \(step)" }
    }

    /// A kubeconfig for this server: the CA file, and a token (inline) or token file.
    public func writeKubeconfig(token: String? = "test-token", tokenFile: String? = nil, insecure: Bool = false) throws -> String {
        try Self.writeKubeconfig(server: serverURL, caPath: certificates?.caPath, token: token, tokenFile: tokenFile, insecure: insecure)
    }

    public static func writeKubeconfig(server serverURL: String, caPath: String?, token: String? = "test-token", tokenFile: String? = nil,
                                       insecure: Bool = false) throws -> String {
        let path = NSTemporaryDirectory() + "kubeconfig-\(UUID().uuidString)"
        var user = ""
        if let token { user = "    token: \(token)\n" }
        if let tokenFile { user = "    tokenFile: \(tokenFile)\n" }
        var cluster = "    server: \(serverURL)\n"
        if insecure {
            cluster += "    insecure-skip-tls-verify: true\n"
        } else if let caPath {
            cluster += "    certificate-authority: \(caPath)\n"
        }
        let text = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster:
        \(cluster.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        users:
        - name: clusterdns
          user:
        \(user.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        contexts:
        - name: fake
          context:
            cluster: fake
            user: clusterdns
        current-context: fake

        """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

final class WeakBox: @unchecked Sendable {
    weak var api: FakeKubeAPI?
}

final class APIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let api: WeakBox
    var head: HTTPRequestHead?

    init(api: WeakBox) { self.api = api }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head, let api = api.api else { return }
            self.head = nil
            switch api.route(method: head.method, uri: head.uri, headers: head.headers) {
            case .reply(let reply):
                let body = (try? JSONSerialization.data(withJSONObject: reply.body)) ?? Data()
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(body.count)")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .watch(let r, let ns, let since, let bookmarks, let timeout):
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Transfer-Encoding", value: "chunked")
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
                api.startWatch(context.channel, r, namespace: ns, since: since, bookmarks: bookmarks, timeout: timeout)
            }
        }
    }
}
