import DNSWire
import FakeKubeAPI
import Foundation
import Testing
import TestSupport

/// Issue 4: the API watcher against a Kubernetes API that speaks the real protocol (TLS, bearer
/// tokens, paginated lists, chunked watch streams, 410, bookmarks). Each test starts a fresh
/// `clusterdns serve --kubeconfig ...` as a user would and checks answers and /ready.
@Suite(.serialized) struct KubernetesAPITests {
    // MARK: objects, as the API server returns them

    static func namespace(_ name: String) -> [String: Any] {
        ["metadata": ["name": name]]
    }

    static func service(_ ns: String, _ name: String, clusterIP: String, ports: [(String, Int)] = [("http", 80)]) -> [String: Any] {
        ["metadata": ["name": name, "namespace": ns],
         "spec": ["type": "ClusterIP", "clusterIP": clusterIP, "clusterIPs": [clusterIP],
                  "ports": ports.map { ["name": $0.0, "port": $0.1, "protocol": "TCP", "targetPort": $0.1] as [String: Any] }]]
    }

    static func slice(_ ns: String, _ name: String, service: String, _ endpoints: [(ip: String, ready: Bool, hostname: String?)],
                      ports: [(String, Int)] = [("http", 80)]) -> [String: Any] {
        ["metadata": ["name": name, "namespace": ns, "labels": ["kubernetes.io/service-name": service]],
         "addressType": "IPv4",
         "endpoints": endpoints.map { e -> [String: Any] in
             var x: [String: Any] = ["addresses": [e.ip], "conditions": ["ready": e.ready]]
             if let h = e.hostname { x["hostname"] = h }
             return x
         },
         "ports": ports.map { ["name": $0.0, "port": $0.1, "protocol": "TCP"] as [String: Any] }]
    }

    /// A small cluster: default/web (ClusterIP), data/db (headless, two ready members).
    static func seed(_ api: FakeKubeAPI) {
        api.apply(.namespaces, namespace("default"))
        api.apply(.namespaces, namespace("data"))
        api.apply(.services, service("default", "web", clusterIP: "10.96.0.10"))
        api.apply(.services, service("data", "db", clusterIP: "None", ports: [("postgres", 5432)]))
        api.apply(.endpointslices, slice("data", "db-abc", service: "db",
                                         [("10.244.1.1", true, "db-0"), ("10.244.1.2", true, "db-1")], ports: [("postgres", 5432)]))
    }

    // MARK: helpers

    struct Lookup: Equatable, CustomStringConvertible {
        var rcode: ResponseCode
        var answers: [String]
        var description: String { "\(rcode) \(answers)" }
    }

    static func lookup(_ port: Int, _ name: String, _ type: RecordType = .a) -> Lookup? {
        guard let bytes = DNSClient.udp(DNSClient.query(name, type), port: port, timeout: 1),
              let m = try? Message(decoding: bytes) else { return nil }
        return Lookup(rcode: m.rcode, answers: m.answers.filter { $0.type == type }.map(\.rdataText).sorted())
    }

    static func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    static func serve(kubeconfig: String, extra: [String] = []) throws -> ServerProcess {
        try ServerProcess(arguments: ["--kubeconfig", kubeconfig] + extra, http: true, waitForDNS: false)
    }

    /// A fake API holding `seed` (plus what `prepare` adds) and a server that has synced with it.
    static func synced(prepare: (FakeKubeAPI) -> Void = { _ in }) throws -> (FakeKubeAPI, ServerProcess) {
        let api = try FakeKubeAPI.start()
        seed(api)
        prepare(api)
        let s = try serve(kubeconfig: try api.writeKubeconfig())
        #expect(eventually(10) { ready(s) })
        return (api, s)
    }

    static func ready(_ s: ServerProcess) -> Bool { s.get("/ready")?.status == 200 }

    // MARK: tests

    /// "Before the first full sync, names in the cluster zones answer SERVFAIL, never NXDOMAIN;
    /// other zones answer at once. /ready answers 503 with the reason (API unreachable) until
    /// synced, then 200" — and `--kubernetes` combines with `--zones`.
    @Test func apiDownAtStartThenRecovery() throws {
        let certs = try FakeKubeAPI.generateCertificates()
        let port = Int.random(in: 30000...60000)
        let kubeconfig = try FakeKubeAPI.writeKubeconfig(server: "https://127.0.0.1:\(port)", caPath: certs.caPath)
        let zones = try Fixtures.directory(copyingExample: false, extra: [
            "static.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: legacy, namespace: default}\nspec: {clusterIP: 10.96.9.9}\n",
            "corp.zone": "$ORIGIN corp.example.\n@ 300 IN SOA ns hostmaster 1 7200 3600 1209600 300\n@ 300 IN NS ns\nns 300 IN A 192.0.2.53\nwww 300 IN A 192.0.2.80\n",
        ])
        let s = try Self.serve(kubeconfig: kubeconfig, extra: ["--zones", zones])
        defer { s.stop() }
        #expect(Self.eventually { Self.lookup(s.port, "www.corp.example.") != nil })
        // Not synced: unknown cluster names are SERVFAIL; the directory's objects and zone
        // files answer at once.
        #expect(Self.lookup(s.port, "web.default.svc.cluster.local.")?.rcode == .servFail)
        #expect(Self.lookup(s.port, "legacy.default.svc.cluster.local.") == Lookup(rcode: .noError, answers: ["10.96.9.9"]))
        #expect(Self.lookup(s.port, "www.corp.example.") == Lookup(rcode: .noError, answers: ["192.0.2.80"]))
        var ready: HTTPGet.Reply?
        #expect(Self.eventually {
            ready = s.get("/ready")
            return ready?.body.contains("unreachable") == true
        })
        #expect(ready?.status == 503)
        #expect(ready?.body.contains("kubernetes: not ready: API server https://127.0.0.1:\(port) unreachable") == true)

        // The API comes up: synced, ready, answers.
        let api = try FakeKubeAPI.start(port: port, certificates: certs)
        defer { api.stop() }
        Self.seed(api)
        #expect(Self.eventually(15) { Self.ready(s) })
        #expect(Self.lookup(s.port, "web.default.svc.cluster.local.") == Lookup(rcode: .noError, answers: ["10.96.0.10"]))
        #expect(Self.lookup(s.port, "nope.default.svc.cluster.local.")?.rcode == .nxDomain)
        #expect(Self.lookup(s.port, "legacy.default.svc.cluster.local.") == Lookup(rcode: .noError, answers: ["10.96.9.9"]))
    }

    /// Initial sync, then add/modify/delete of each kind reflected in answers.
    @Test func syncAndFollowEveryKind() throws {
        let (api, s) = try Self.synced()
        defer { s.stop(); api.stop() }
        let p = s.port
        #expect(Self.lookup(p, "web.default.svc.cluster.local.") == Lookup(rcode: .noError, answers: ["10.96.0.10"]))
        #expect(Self.lookup(p, "db.data.svc.cluster.local.") == Lookup(rcode: .noError, answers: ["10.244.1.1", "10.244.1.2"]))
        #expect(Self.lookup(p, "db-1.db.data.svc.cluster.local.") == Lookup(rcode: .noError, answers: ["10.244.1.2"]))

        // Service: add, modify, delete.
        api.apply(.services, Self.service("default", "api", clusterIP: "10.96.0.11"))
        #expect(Self.eventually { Self.lookup(p, "api.default.svc.cluster.local.")?.answers == ["10.96.0.11"] })
        api.apply(.services, Self.service("default", "api", clusterIP: "10.96.0.12"))
        #expect(Self.eventually { Self.lookup(p, "api.default.svc.cluster.local.")?.answers == ["10.96.0.12"] })
        api.delete(.services, namespace: "default", name: "api")
        #expect(Self.eventually { Self.lookup(p, "api.default.svc.cluster.local.")?.rcode == .nxDomain })

        // EndpointSlice: a member turns not ready, another is added, the slice goes.
        api.apply(.endpointslices, Self.slice("data", "db-abc", service: "db", [("10.244.1.1", true, "db-0"), ("10.244.1.2", false, "db-1")],
                                              ports: [("postgres", 5432)]))
        #expect(Self.eventually { Self.lookup(p, "db.data.svc.cluster.local.")?.answers == ["10.244.1.1"] })
        #expect(Self.lookup(p, "db-1.db.data.svc.cluster.local.")?.rcode == .nxDomain)
        api.apply(.endpointslices, Self.slice("data", "db-def", service: "db", [("10.244.2.9", true, "db-2")], ports: [("postgres", 5432)]))
        #expect(Self.eventually { Self.lookup(p, "db.data.svc.cluster.local.")?.answers == ["10.244.1.1", "10.244.2.9"] })
        #expect(Self.lookup(p, "_postgres._tcp.db.data.svc.cluster.local.", .srv)?.answers.count == 2)
        api.delete(.endpointslices, namespace: "data", name: "db-abc")
        #expect(Self.eventually { Self.lookup(p, "db.data.svc.cluster.local.")?.answers == ["10.244.2.9"] })

        // Namespace: an empty namespace exists (NODATA), then does not (NXDOMAIN).
        #expect(Self.lookup(p, "tools.svc.cluster.local.")?.rcode == .nxDomain)
        api.apply(.namespaces, Self.namespace("tools"))
        #expect(Self.eventually { Self.lookup(p, "tools.svc.cluster.local.") == Lookup(rcode: .noError, answers: []) })
        api.delete(.namespaces, namespace: nil, name: "tools")
        #expect(Self.eventually { Self.lookup(p, "tools.svc.cluster.local.")?.rcode == .nxDomain })

        // Lists were paginated and the watches asked for bookmarks.
        #expect(api.requests.contains { $0.contains("/api/v1/services?limit=") })
        #expect(api.requests.contains { $0.contains("watch=true&allowWatchBookmarks=true&resourceVersion=") && $0.contains("timeoutSeconds=") })
        let m = OperationsTests.parse(s.get("/metrics")?.body ?? "")
        #expect(OperationsTests.value(m, "clusterdns_watch_propagation_seconds_count") > 0)
    }

    /// "410 Gone → relist and replace atomically (never serve a half-empty index)".
    @Test func goneMeansRelist() throws {
        let (api, s) = try Self.synced { api in
            for i in 0..<30 { api.apply(.services, Self.service("default", "s\(i)", clusterIP: "10.96.1.\(i)")) }
        }
        defer { s.stop(); api.stop() }
        let listsBefore = api.requests.filter { $0.contains("/api/v1/services?limit=") }.count

        // While disconnected: a change, then history is compacted; the watches are dropped
        // again in case one came back in between. The resumed watch gets 410.
        api.dropWatches()
        api.apply(.services, Self.service("default", "late", clusterIP: "10.96.2.1"))
        api.delete(.services, namespace: "default", name: "s0")
        api.compact()
        api.dropWatches()
        var wrong: [String] = []
        let ok = Self.eventually(10) {
            // Every existing name keeps answering during the relist: never NXDOMAIN. (No reply
            // within the timeout on a loaded machine is asked again, not counted as wrong.)
            for i in 1..<30 {
                let name = "s\(i).default.svc.cluster.local."
                guard let answer = Self.lookup(s.port, name) ?? Self.lookup(s.port, name) else { continue }
                if answer.answers != ["10.96.1.\(i)"] { wrong.append("s\(i): \(answer)") }
            }
            return Self.lookup(s.port, "late.default.svc.cluster.local.")?.answers == ["10.96.2.1"]
        }
        #expect(ok)
        #expect(wrong.isEmpty, "wrong answers during relist: \(wrong)")
        #expect(Self.eventually { Self.lookup(s.port, "s0.default.svc.cluster.local.")?.rcode == .nxDomain })
        #expect(api.requests.filter { $0.contains("/api/v1/services?limit=") }.count > listsBefore)
        #expect(s.log.contains("410 Gone"))
        let m = OperationsTests.parse(s.get("/metrics")?.body ?? "")
        #expect(OperationsTests.value(m, "clusterdns_relists_total", ["resource": "services"]) >= 1)

        // The same when the server answers the watch with HTTP 410 rather than an ERROR event.
        api.setGoneAsHTTPStatus(true)
        #expect(Self.eventually { api.openWatches == 3 })
        api.dropWatches()
        api.apply(.services, Self.service("default", "later", clusterIP: "10.96.2.2"))
        api.compact()
        api.dropWatches()
        #expect(Self.eventually(10) { Self.lookup(s.port, "later.default.svc.cluster.local.")?.answers == ["10.96.2.2"] })
        let m2 = OperationsTests.parse(s.get("/metrics")?.body ?? "")
        #expect(OperationsTests.value(m2, "clusterdns_relists_total", ["resource": "services"]) >= 2)
    }

    /// "dropped connection and resume from the last resourceVersion", and bookmarks move it.
    @Test func dropResumeAndBookmarks() throws {
        let (api, s) = try Self.synced()
        defer { s.stop(); api.stop() }
        #expect(Self.eventually { api.openWatches == 3 })
        let listsBefore = api.requests.filter { !$0.contains("watch=") && $0.contains("?limit=") }.count

        api.apply(.services, Self.service("default", "one", clusterIP: "10.96.3.1"))
        #expect(Self.eventually { Self.lookup(s.port, "one.default.svc.cluster.local.")?.answers == ["10.96.3.1"] })
        let seen = api.resourceVersion
        api.dropWatches()
        #expect(Self.eventually { api.requests.contains { $0.contains("/api/v1/services?watch=true") && $0.contains("resourceVersion=\(seen)&") } },
                "\(seen) \(api.requests)")
        api.apply(.services, Self.service("default", "two", clusterIP: "10.96.3.2"))
        #expect(Self.eventually { Self.lookup(s.port, "two.default.svc.cluster.local.")?.answers == ["10.96.3.2"] })

        // A bookmark carries a newer version; after a clean end the next watch starts there.
        #expect(Self.eventually { api.openWatches == 3 })
        api.sendBookmarks()
        let bookmark = api.resourceVersion
        usleep(200_000)
        api.endWatches()
        #expect(Self.eventually { api.requests.contains { $0.contains("/api/v1/services?watch=true") && $0.contains("resourceVersion=\(bookmark)&") } })
        // Resumed, not relisted.
        #expect(api.requests.filter { !$0.contains("watch=") && $0.contains("?limit=") }.count == listsBefore)
        let m = OperationsTests.parse(s.get("/metrics")?.body ?? "")
        #expect(OperationsTests.value(m, "clusterdns_watch_restarts_total") >= 3)
    }

    /// "The token file is re-read when it changes: bound tokens rotate."
    @Test func tokenRotation() throws {
        let api = try FakeKubeAPI.start(tokens: ["token-1"])
        defer { api.stop() }
        Self.seed(api)
        let tokenFile = NSTemporaryDirectory() + "token-\(UUID().uuidString)"
        try "token-1\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let s = try Self.serve(kubeconfig: try api.writeKubeconfig(token: nil, tokenFile: tokenFile))
        defer { s.stop() }
        #expect(Self.eventually(10) { Self.ready(s) })

        // Rotate: the old token stops working, the file holds the new one.
        try "token-2\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        api.setTokens(["token-2"])
        api.dropWatches()
        api.apply(.services, Self.service("default", "rotated", clusterIP: "10.96.4.1"))
        #expect(Self.eventually(10) { Self.lookup(s.port, "rotated.default.svc.cluster.local.")?.answers == ["10.96.4.1"] })
        // The answer can come from the relist before the watch that follows it has been opened.
        #expect(Self.eventually { api.requests.contains { $0.contains("watch=true") && $0.hasSuffix("token=token-2") } })
        #expect(Self.ready(s))
    }

    /// "403 naming the missing RBAC rule"; 401 for a rejected token. Both keep /ready at 503
    /// and cluster names at SERVFAIL until fixed.
    @Test func forbiddenAndUnauthorized() throws {
        let api = try FakeKubeAPI.start()
        defer { api.stop() }
        Self.seed(api)
        api.forbid(["endpointslices"])
        let s = try Self.serve(kubeconfig: try api.writeKubeconfig())
        defer { s.stop() }
        var ready: HTTPGet.Reply?
        #expect(Self.eventually(10) {
            ready = s.get("/ready")
            return ready?.body.contains("403") == true
        })
        #expect(ready?.status == 503)
        #expect(ready?.body.contains("403 Forbidden: missing RBAC rule: list endpointslices in API group \"discovery.k8s.io\"") == true)
        #expect(ready?.body.contains("cannot list resource \\\"endpointslices\\\"") == true || ready?.body.contains("cannot list resource \"endpointslices\"") == true)
        #expect(Self.lookup(s.port, "nope.default.svc.cluster.local.")?.rcode == .servFail)
        // Issue 11: the Services list alone is not a sync. A Service already listed answers
        // SERVFAIL too, not an answer built without its endpoints (a headless one would be an
        // early NODATA that clients cache).
        #expect(Self.lookup(s.port, "web.default.svc.cluster.local.")?.rcode == .servFail)
        #expect(Self.lookup(s.port, "default.svc.cluster.local.")?.rcode == .servFail)
        api.forbid([])
        #expect(Self.eventually(15) { Self.ready(s) })
        #expect(Self.lookup(s.port, "nope.default.svc.cluster.local.")?.rcode == .nxDomain)

        let bad = try Self.serve(kubeconfig: try api.writeKubeconfig(token: "wrong"))
        defer { bad.stop() }
        #expect(Self.eventually(10) { bad.get("/ready")?.body.contains("401 Unauthorized") == true })
        #expect(bad.get("/ready")?.status == 503)
    }

    /// The test API is only worth something if a real client agrees with it: kubectl lists and
    /// watches through TLS with a bearer token.
    @Test(.enabled(if: toolExists("kubectl"))) func kubectlAgreesWithTheFakeAPI() throws {
        let api = try FakeKubeAPI.start()
        defer { api.stop() }
        Self.seed(api)
        let base = ["--server=\(api.serverURL)", "--certificate-authority=\(api.certificates!.caPath)", "--token=test-token"]
        let list = try run("kubectl", base + ["get", "services", "-A"])
        #expect(list.status == 0, "\(list.err)")
        // The fake server does not render tables, so kubectl prints its generic columns.
        #expect(list.out.contains("default     web") && list.out.contains("data        db"), "\(list.out)")
        let ips = try run("kubectl", base + ["get", "services", "-A", "-o", "jsonpath={.items[*].spec.clusterIP}"])
        #expect(ips.out == "None 10.96.0.10", "\(ips.out) \(ips.err)")
        let slices = try run("kubectl", base + ["get", "endpointslices", "-A", "-o", "name"])
        #expect(slices.out.contains("db-abc"), "\(slices.err)")

        // --watch: the list, then a change arriving on the stream.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["kubectl"] + base + ["get", "endpointslices", "-A", "--watch", "-o", "name"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        #expect(Self.eventually(10) { api.openWatches == 1 })
        api.apply(.endpointslices, Self.slice("data", "db-new", service: "db", [("10.244.9.9", true, nil)]))
        usleep(1_000_000)
        p.terminate()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("db-abc") && text.contains("db-new"), "\(text)")

        let denied = try run("kubectl", ["--server=\(api.serverURL)", "--certificate-authority=\(api.certificates!.caPath)", "--token=nope",
                                         "get", "services", "-A"])
        #expect(denied.status != 0 && denied.err.contains("Unauthorized"), "\(denied.err)")
    }
}
