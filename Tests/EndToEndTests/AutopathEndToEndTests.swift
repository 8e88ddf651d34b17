import DNSWire
import FakeKubeAPI
import Foundation
import Testing
import TestSupport

extension DigResult {
    /// A section's records with their fields separated by one space.
    func lines(_ section: String) -> [String] {
        sectionLines(section).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
    }
}

/// Issue 16, with the real binary: `--autopath` walks a pod's search path for it, with names
/// outside the cluster from a loopback NSD; `--filter-aaaa` answers upstream AAAA questions at
/// once. The asker is 127.0.0.1 (the source address of every loopback question), declared a pod
/// of `shop` by an EndpointSlice endpoint whose targetRef is a Pod.
@Suite(.serialized) struct AutopathEndToEndTests {
    static let upstreamZone = """
    $ORIGIN example.test.
    $TTL 300
    @     IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
    @     IN NS  ns.example.test.
    ns    IN A   127.0.0.1
    www   IN A   192.0.2.80
    short 30 IN A 192.0.2.81
    """

    /// The loopback client as a pod of `shop`.
    static let clientPod = """
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: client-1, namespace: shop, labels: {kubernetes.io/service-name: client}}
    addressType: IPv4
    endpoints:
      - addresses: [127.0.0.1]
        conditions: {ready: true}
        targetRef: {kind: Pod, name: client-0, namespace: shop}
    """

    /// The loopback client as a hostNetwork pod: a node's address.
    static let nodePod = """
    apiVersion: v1
    kind: Pod
    metadata: {name: agent, namespace: shop}
    spec: {hostNetwork: true}
    status: {phase: Running, podIP: 127.0.0.1, hostIP: 127.0.0.1}
    """

    static func server(_ extra: [String: String], _ flags: [String], upstream: String, host: String = "127.0.0.1",
                       port: Int? = nil) throws -> ServerProcess {
        let dir = try Fixtures.directory(extra: extra)
        return try ServerProcess(arguments: ["--zones", dir, "--upstream", upstream] + flags, host: host, port: port, http: true)
    }

    /// One try, long enough for the forwarder to give up on a dead upstream.
    static func dig(_ server: ServerProcess, _ name: String, _ type: String = "A") throws -> DigResult {
        DigResult(text: try run("dig", ["@\(server.host)", "-p", "\(server.port)", "+time=8", "+tries=1", name, type]).out)
    }

    static func requests(_ server: ServerProcess) -> Double {
        ForwardingTests.metrics(server).filter { $0.name == "coredns_dns_requests_total" }.map(\.value).reduce(0, +)
    }

    static func counter(_ server: ServerProcess, _ name: String, _ labels: [String: String] = [:]) -> Double {
        ForwardingTests.metrics(server).first { $0.name == name && $0.labels == labels }?.value ?? 0
    }

    // "X upstream through the cache … a CNAME from the asked name to the found one, then its
    // records, NOERROR"; the CNAME lives no longer than the records it leads to.
    @Test func upstreamNameFound() throws {
        let nsd = try NSDServer(zones: ["example.test": Self.upstreamZone])
        defer { nsd.stop() }
        let s = try Self.server(["client.yaml": Self.clientPod], ["--autopath"], upstream: "127.0.0.1:\(nsd.port)")
        defer { s.stop() }
        let r = try Self.dig(s, "www.example.test.shop.svc.cluster.local")
        #expect(r.status == "NOERROR")
        // (The upstream's TTL as the cache serves it: capped there.)
        #expect(r.lines("ANSWER").first == "www.example.test.shop.svc.cluster.local. 5 IN CNAME www.example.test.")
        #expect(r.lines("ANSWER").dropFirst().map { $0.hasPrefix("www.example.test. ") && $0.hasSuffix(" IN A 192.0.2.80") } == [true])
        let short = try Self.dig(s, "short.example.test.shop.svc.cluster.local")
        #expect(short.lines("ANSWER").first?.hasPrefix("short.example.test.shop.svc.cluster.local. 5 IN CNAME") == true)
        #expect(Self.counter(s, "clusterdns_autopath_total", ["result": "hit"]) == 2)
        #expect(Self.counter(s, "clusterdns_autopath_saved_queries_total") == 6)
        // A Service by its short name still answers at the first question, without a walk.
        let web = try Self.dig(s, "web.shop.svc.cluster.local")
        #expect(web.lines("ANSWER") == ["web.shop.svc.cluster.local. 5 IN A 10.96.10.20"])
    }

    // "when nothing exists, the NXDOMAIN the client would have reached": the asked name's own,
    // with our SOA and no CNAME to a name that does not exist.
    @Test func upstreamNameMissing() throws {
        let nsd = try NSDServer(zones: ["example.test": Self.upstreamZone])
        defer { nsd.stop() }
        let s = try Self.server(["client.yaml": Self.clientPod], ["--autopath"], upstream: "127.0.0.1:\(nsd.port)")
        defer { s.stop() }
        let r = try Self.dig(s, "nope.example.test.shop.svc.cluster.local")
        #expect(r.status == "NXDOMAIN")
        #expect(r.lines("ANSWER").isEmpty)
        #expect(r.lines("AUTHORITY").first?.hasPrefix("cluster.local. 5 IN SOA") == true)
        #expect(Self.counter(s, "clusterdns_autopath_total", ["result": "miss"]) == 1)
    }

    // "the upstream fails (SERVFAIL, never a wrong NXDOMAIN)": resolvers then try their next
    // search domain, as they would have.
    @Test func upstreamFails() throws {
        let s = try Self.server(["client.yaml": Self.clientPod], ["--autopath"], upstream: "127.0.0.1:9")
        defer { s.stop() }
        let r = try Self.dig(s, "www.example.test.shop.svc.cluster.local")
        #expect(r.status == "SERVFAIL")
        #expect(r.lines("ANSWER").isEmpty)
    }

    // "from a node address: no autopath, the answers identical to a server without it".
    @Test func nodeAddressIsPlain() throws {
        let nsd = try NSDServer(zones: ["example.test": Self.upstreamZone])
        defer { nsd.stop() }
        let s = try Self.server(["client.yaml": Self.clientPod, "node.yaml": Self.nodePod], ["--autopath"], upstream: "127.0.0.1:\(nsd.port)")
        defer { s.stop() }
        let r = try Self.dig(s, "www.example.test.shop.svc.cluster.local")
        #expect(r.status == "NXDOMAIN")
        #expect(Self.counter(s, "clusterdns_autopath_total", ["result": "hit"]) == 0)
    }

    // `--filter-aaaa`: "AAAA questions for names outside the cluster zones answer NODATA …
    // at once instead of being forwarded; cluster-zone AAAA answers are unchanged."
    @Test func filterAAAA() throws {
        let s = try Self.server([:], ["--filter-aaaa"], upstream: "127.0.0.1:9")  // an upstream that never answers
        defer { s.stop() }
        let started = Date()
        let r = try Self.dig(s, "www.example.test", "AAAA")
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(r.status == "NOERROR")
        #expect(r.lines("ANSWER").isEmpty)
        let api = try Self.dig(s, "api.shop.svc.cluster.local", "AAAA")
        #expect(api.lines("ANSWER") == ["api.shop.svc.cluster.local. 5 IN AAAA fd00:10:96::30"])
        #expect(Self.counter(s, "clusterdns_filtered_aaaa_total") == 1)
        // A still goes upstream (and fails there).
        #expect(try Self.dig(s, "www.example.test", "A").status == "SERVFAIL")
    }

    /// From the API: "the client's address is looked up in what the index already holds
    /// (endpoint addresses …), and optionally in a slim Pod table". 127.0.0.1 is a Pod of shop
    /// that no Service selects: only `--autopath-pods` knows it; a hostNetwork pod's address is
    /// a node's, never walked; a deleted Pod is forgotten.
    @Test func podTableFromTheAPI() throws {
        let api = try FakeKubeAPI.start()
        defer { api.stop() }
        api.apply(.namespaces, KubernetesAPITests.namespace("default"))
        api.apply(.namespaces, KubernetesAPITests.namespace("shop"))
        api.apply(.services, KubernetesAPITests.service("default", "kubernetes", clusterIP: "10.96.0.1"))
        api.apply(.pods, ["metadata": ["name": "client-0", "namespace": "shop", "labels": ["app": "client"]],
                          "spec": ["containers": [["name": "c", "image": "busybox"]]],
                          "status": ["phase": "Running", "podIP": "127.0.0.1", "podIPs": [["ip": "127.0.0.1"]], "hostIP": "10.0.0.1"]])
        let kubeconfig = try api.writeKubeconfig()
        let question = "kubernetes.default.shop.svc.cluster.local."
        let endpointsOnly = try KubernetesAPITests.serve(kubeconfig: kubeconfig, extra: ["--autopath"])
        defer { endpointsOnly.stop() }
        let withPods = try KubernetesAPITests.serve(kubeconfig: kubeconfig, extra: ["--autopath", "--autopath-pods"])
        defer { withPods.stop() }
        #expect(KubernetesAPITests.eventually(10) { KubernetesAPITests.ready(endpointsOnly) && KubernetesAPITests.ready(withPods) })
        #expect(KubernetesAPITests.lookup(endpointsOnly.port, question)?.rcode == .nxDomain)
        let walked = KubernetesAPITests.lookup(withPods.port, question)
        #expect(walked == .init(rcode: .noError, answers: ["10.96.0.1"]))

        // The same address now a hostNetwork pod's: a node's, so the plain answer.
        api.apply(.pods, ["metadata": ["name": "client-0", "namespace": "shop"], "spec": ["hostNetwork": true],
                          "status": ["phase": "Running", "podIP": "127.0.0.1", "hostIP": "127.0.0.1"]])
        #expect(KubernetesAPITests.eventually(5) { KubernetesAPITests.lookup(withPods.port, question)?.rcode == .nxDomain })
        // Back to a pod network address, then deleted: walked, then forgotten.
        api.apply(.pods, ["metadata": ["name": "client-0", "namespace": "shop"],
                          "status": ["phase": "Running", "podIP": "127.0.0.1", "hostIP": "10.0.0.1"]])
        #expect(KubernetesAPITests.eventually(5) { KubernetesAPITests.lookup(withPods.port, question)?.rcode == .noError })
        api.delete(.pods, namespace: "shop", name: "client-0")
        #expect(KubernetesAPITests.eventually(5) { KubernetesAPITests.lookup(withPods.port, question)?.rcode == .nxDomain })
    }

    /// The C library's resolver as a pod of `shop` runs it (ndots:5, the cluster search path),
    /// against a server with and one without `--autopath` on port 53 (glibc speaks to no other):
    /// the questions each server received for one external name and one short Service name,
    /// and the addresses returned. Needs root (CI has it) for port 53 and the mount namespace
    /// that swaps resolv.conf for the client alone.
    @Test func glibcSearchPath() throws {
        guard getuid() == 0, toolExists("unshare"), toolExists("getent") else { return }
        let nsd = try NSDServer(zones: ["example.test": Self.upstreamZone])
        defer { nsd.stop() }
        let with = try Self.server(["client.yaml": Self.clientPod], ["--autopath"], upstream: "127.0.0.1:\(nsd.port)", host: "127.0.0.154", port: 53)
        defer { with.stop() }
        let without = try Self.server(["client.yaml": Self.clientPod], [], upstream: "127.0.0.1:\(nsd.port)", host: "127.0.0.155", port: 53)
        defer { without.stop() }
        // --autopath, but 127.0.0.1 is nobody's pod here.
        let stranger = try Self.server([:], ["--autopath"], upstream: "127.0.0.1:\(nsd.port)", host: "127.0.0.156", port: 53)
        defer { stranger.stop() }

        func resolve(_ server: ServerProcess, _ name: String) throws -> (addresses: Set<String>, questions: Double, seconds: Double) {
            let conf = NSTemporaryDirectory() + "resolv-\(UUID().uuidString).conf"
            try """
            nameserver \(server.host)
            search shop.svc.cluster.local svc.cluster.local cluster.local
            options ndots:5 attempts:1 timeout:2
            """.write(toFile: conf, atomically: true, encoding: .utf8)
            let before = Self.requests(server)
            let started = Date()
            let r = try run("unshare", ["-m", "sh", "-c", "mount --bind \(conf) /etc/resolv.conf && getent ahosts \(name)"])
            let seconds = Date().timeIntervalSince(started)
            #expect(r.status == 0, "\(name) via \(server.host): \(r.err)")
            let addresses = Set(r.out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
            return (addresses, Self.requests(server) - before, seconds)
        }
        let external = (try resolve(with, "www.example.test"), try resolve(without, "www.example.test"))
        #expect(external.0.addresses == ["192.0.2.80"])
        #expect(external.0.addresses == external.1.addresses)
        #expect(external.0.questions == 2, "A and AAAA of the first search name only")
        #expect(external.1.questions == 8)
        let unknown = try resolve(stranger, "www.example.test")
        #expect(unknown.addresses == external.1.addresses)
        #expect(unknown.questions == 8, "a client that is not a known pod gets the plain answers")
        let short = (try resolve(with, "web"), try resolve(without, "web"))
        #expect(short.0.addresses == ["10.96.10.20"])
        #expect(short.0.addresses == short.1.addresses)
        #expect(short.0.questions <= 2 && short.1.questions <= 2)
        print("glibc getent ahosts www.example.test: \(Int(external.0.questions)) questions in \(String(format: "%.1f", external.0.seconds * 1000)) ms with --autopath, \(Int(external.1.questions)) in \(String(format: "%.1f", external.1.seconds * 1000)) ms without")
    }
}
