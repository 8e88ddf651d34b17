import DNSWire
import FakeKubeAPI
import Foundation
import Testing
import TestSupport

/// Issue 15: the cluster's own Corefile runs as it is — `-conf PATH` as the first argument, as the
/// stock `coredns` Deployment passes it — against the example objects (`--zones`, replacing the
/// kubernetes plugin's API source) and loopback upstreams (replacing `/etc/resolv.conf`).
@Suite(.serialized) struct CorefileEndToEndTests {
    static let zones = ServerProcess.repositoryRoot + "/zones"

    static func write(_ text: String, to path: String? = nil) throws -> String {
        let file = path ?? NSTemporaryDirectory() + "Corefile-\(UUID().uuidString)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// kubeadm's Corefile (`kubeadm.rendered.Corefile` of the corpus) with its ttl and cache.
    static let kubeadm = """
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30 {
           disable success cluster.local
           disable denial cluster.local
        }
        loop
        reload
        loadbalance
    }
    """

    func withUpstream(_ body: (FakeUpstream) throws -> Void) throws {
        let fake = try FakeUpstream(group: TestGroup.shared)
        defer { fake.stop() }
        try body(fake)
    }

    /// CoreDNS: `coredns -conf /etc/coredns/Corefile`. The same arguments start clusterdns, with
    /// `serve` implied; the kubernetes plugin's `ttl 30` and `pods insecure` shape the answers.
    @Test func kubeadmCorefileWithConfFirst() throws {
        let corefile = try Self.write(Self.kubeadm)
        try withUpstream { fake in
            let server = try ServerProcess(arguments: ["--zones", Self.zones, "--upstream", "127.0.0.1:\(fake.port)"], http: true,
                                           command: ["-conf", corefile])
            defer { server.stop() }
            let a = try dig(server.port, ["web.shop.svc.cluster.local", "A"])
            #expect(a.status == "NOERROR")
            #expect(a.answers.contains { $0.contains("30\tIN\tA\t") }, "ttl 30 from the Corefile: \(a.text)")
            let pod = try dig(server.port, ["10-1-2-3.shop.pod.cluster.local", "A"])
            #expect(pod.answers.contains { $0.hasSuffix("10.1.2.3") }, "pods insecure: \(pod.text)")
            let outside = try dig(server.port, ["www.example.com", "A"])
            #expect(outside.answers.contains { $0.hasSuffix("192.0.2.1") }, "forwarded: \(outside.text)")
            #expect(server.get("/health")?.status == 200)
            #expect(server.get("/ready")?.status == 200)
            #expect(server.log.contains("configuration from the Corefile"))
        }
    }

    /// A Corefile clusterdns cannot honour does not start, and says where and why.
    @Test func refusedCorefileSaysFileAndLine() throws {
        let corefile = try Self.write(".:53 {\n    errors\n    dns64\n}\n")
        let r = try run(ServerProcess.binary, ["-conf", corefile, "--listen", "127.0.0.1:0", "--upstream", "off"])
        #expect(r.status != 0)
        #expect(r.err.contains("\(corefile):3: plugin \"dns64\" is not supported (supported: "), "\(r.err)")
    }

    /// `check --corefile` prints the configuration it understood.
    @Test func checkPrintsTheConfiguration() throws {
        let corefile = try Self.write(Self.kubeadm)
        let r = try run(ServerProcess.binary, ["check", "--corefile", corefile])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("cluster zones: cluster.local. (ttl 30, pods insecure)"), "\(r.out)")
        #expect(r.out.contains("forward .: the nameservers of /etc/resolv.conf"))
        #expect(r.out.contains("cache: 19968 entries, success ≤ 30 s, denial ≤ 30 s"))
        #expect(r.out.contains("health: 0.0.0.0:8080 (lameduck 5.0 seconds)"))
        #expect(r.out.contains("reload: every 30.0 seconds ± 15.0 seconds"))
        let records = try run(ServerProcess.binary, ["check", "--corefile", corefile, Self.zones])
        #expect(records.out.contains("web.shop.svc.cluster.local.\t30\tIN\tA\t"), "the directory's records under the Corefile's ttl")
    }

    static let nsdZone = """
    $ORIGIN consul.local.
    $TTL 60
    @     IN SOA ns.consul.local. admin.consul.local. 1 3600 600 86400 60
    @     IN NS  ns.consul.local.
    ns    IN A   127.0.0.1
    web   IN A   198.51.100.20
    """

    static let nsdSubzone = """
    $ORIGIN my.cluster.local.
    $TTL 60
    @     IN SOA ns.my.cluster.local. admin.my.cluster.local. 1 3600 600 86400 60
    @     IN NS  ns.my.cluster.local.
    ns    IN A   127.0.0.1
    db    IN A   198.51.100.30
    """

    /// kube-dns stubDomains as coredns/deployment's deploy.sh writes them: a server block per
    /// domain, on the same port, routed by zone — here to a real NSD on loopback. A block for a
    /// zone inside the cluster domain (AKS's docs) takes that zone's names, as in CoreDNS.
    @Test func stubDomainsToNSD() throws {
        let nsd = try NSDServer(zones: ["consul.local": Self.nsdZone, "my.cluster.local": Self.nsdSubzone])
        defer { nsd.stop() }
        let corefile = try Self.write(Self.kubeadm + """

        consul.local:53 {
            errors
            cache 30
            forward . 127.0.0.1:\(nsd.port)
        }
        my.cluster.local:53 {
            errors
            forward . 127.0.0.1:\(nsd.port) {
                force_tcp
            }
        }
        """)
        try withUpstream { fake in
            let server = try ServerProcess(arguments: ["--corefile", corefile, "--zones", Self.zones, "--upstream", "127.0.0.1:\(fake.port)"])
            defer { server.stop() }
            let web = try dig(server.port, ["web.consul.local", "A"])
            #expect(web.answers.contains { $0.hasSuffix("198.51.100.20") }, "from NSD: \(web.text)")
            let db = try dig(server.port, ["db.my.cluster.local", "A"])
            #expect(db.answers.contains { $0.hasSuffix("198.51.100.30") }, "the subzone's block: \(db.text)")
            let cluster = try dig(server.port, ["web.shop.svc.cluster.local", "A"])
            #expect(cluster.status == "NOERROR" && !cluster.answers.isEmpty, "the rest of cluster.local from the index")
            let other = try dig(server.port, ["www.example.com", "A"])
            #expect(other.answers.contains { $0.hasSuffix("192.0.2.1") })
            #expect(fake.queries(named: "web.consul.local.") == 0, "stub names never go to the default upstream")
        }
    }

    static let exampleOrg = """
    $ORIGIN example.org.
    $TTL 60
    @     IN SOA ns.example.org. admin.example.org. 1 3600 600 86400 60
    @     IN NS  ns.example.org.
    ns    IN A   127.0.0.1
    www   IN A   198.51.100.7
    """

    /// CoreDNS `reload`: an edited Corefile replaces the configuration without a restart; one that
    /// does not load, or that changes what needs a restart, leaves the old one serving and says
    /// why on /ready.
    @Test func reloadAfterTheFileChanges() throws {
        let nsd = try NSDServer(zones: ["example.org": Self.exampleOrg])
        defer { nsd.stop() }
        try withUpstream { fake in
            func corefile(upstream: Int, ttl: Int = 30) -> String {
                """
                .:53 {
                    errors
                    health
                    ready
                    kubernetes cluster.local in-addr.arpa ip6.arpa {
                        ttl \(ttl)
                        fallthrough in-addr.arpa ip6.arpa
                    }
                    forward . 127.0.0.1:\(upstream)
                    reload 2s 1s
                }
                """
            }
            let path = try Self.write(corefile(upstream: fake.port))
            let server = try ServerProcess(arguments: ["--zones", Self.zones, "--resolv-conf", "/nonexistent"], http: true,
                                           command: ["-conf", path])
            defer { server.stop() }
            func www() throws -> String { try dig(server.port, ["www.example.org", "A", "+short"]).text }
            #expect(try www().contains("192.0.2.1"), "the fake upstream first")

            // The upstream changes: the next answers come from NSD, with no restart.
            _ = try Self.write(corefile(upstream: nsd.port), to: path)
            #expect(try Self.eventually(seconds: 12) { try www().contains("198.51.100.7") }, "reloaded: \(server.log)")
            #expect(try Self.eventually(seconds: 5) { server.log.contains("Corefile reloaded") })
            let pid = server.process.processIdentifier

            // A broken edit: the running configuration keeps serving; /ready says why (200: degraded).
            _ = try Self.write(corefile(upstream: nsd.port) + "\n}\n", to: path)
            #expect(try Self.eventually(seconds: 12) { server.get("/ready")?.body.contains("corefile") == true }, "\(server.log)")
            let ready = server.get("/ready")
            #expect(ready?.status == 200)
            #expect(ready?.body.contains("\(path):12:") == true, "file and line: \(ready?.body ?? "")")
            #expect(try www().contains("198.51.100.7"))

            // A change of the kubernetes plugin needs a restart: said, and the old ttl still served.
            _ = try Self.write(corefile(upstream: nsd.port, ttl: 60), to: path)
            #expect(try Self.eventually(seconds: 12) { server.get("/ready")?.body.contains("needs a restart") == true }, "\(server.log)")
            let a = try dig(server.port, ["web.shop.svc.cluster.local", "A"])
            #expect(a.answers.contains { $0.contains("30\tIN\tA\t") })

            // Undone: back to health.
            _ = try Self.write(corefile(upstream: nsd.port), to: path)
            #expect(try Self.eventually(seconds: 12) { server.get("/ready")?.body.contains("corefile") == false })
            #expect(server.process.processIdentifier == pid && server.process.isRunning)
        }
    }

    static let corpus = ServerProcess.repositoryRoot + "/Tests/CorefileTests/Corefiles"

    /// minikube's Corefile as it ships (`hosts { 192.168.49.1 host.minikube.internal; fallthrough }`
    /// before `forward`): CoreDNS hosts answers its entries, and with `fallthrough` every other name
    /// goes on to the cluster zones and the upstreams.
    @Test func minikubeHostsWithFallthrough() throws {
        try withUpstream { fake in
            let server = try ServerProcess(arguments: ["--zones", Self.zones, "--upstream", "127.0.0.1:\(fake.port)"],
                                           command: ["-conf", Self.corpus + "/minikube.Corefile"])
            defer { server.stop() }
            let host = try dig(server.port, ["host.minikube.internal", "A"])
            #expect(host.status == "NOERROR" && host.answers.contains { $0.hasSuffix("192.168.49.1") }, "\(host.text)")
            #expect(host.flags.contains("aa"), "hosts answers authoritatively")
            let ptr = try dig(server.port, ["-x", "192.168.49.1"])
            #expect(ptr.answers.contains { $0.hasSuffix("host.minikube.internal.") }, "and its PTR: \(ptr.text)")
            let cluster = try dig(server.port, ["kubernetes.default.svc.cluster.local", "A"])
            #expect(cluster.answers.contains { $0.hasSuffix("10.96.0.1") }, "fallthrough to kubernetes: \(cluster.text)")
            let outside = try dig(server.port, ["www.example.com", "A"])
            #expect(outside.answers.contains { $0.hasSuffix("192.0.2.1") }, "fallthrough to forward: \(outside.text)")
            #expect(server.log.contains("host.minikube.internal"), "log: one line per query")
        }
    }

    /// AKS's default Corefile: `template ANY ANY internal.cloudapp.net { match ...; rcode NXDOMAIN;
    /// fallthrough }` answers the search-path expansions (4 or more labels) NXDOMAIN without asking
    /// upstream and lets the rest through; `reddog.microsoft.com` is NXDOMAIN whole.
    @Test func aksTemplates() throws {
        try withUpstream { fake in
            let server = try ServerProcess(arguments: ["--zones", Self.zones, "--upstream", "127.0.0.1:\(fake.port)"],
                                           command: ["-conf", Self.corpus + "/aks.Corefile"])
            defer { server.stop() }
            let expansion = try dig(server.port, ["web.shop.svc.cluster.local.internal.cloudapp.net", "A"])
            #expect(expansion.status == "NXDOMAIN", "\(expansion.text)")
            let vm = try dig(server.port, ["myvm.internal.cloudapp.net", "A"])
            #expect(vm.answers.contains { $0.hasSuffix("192.0.2.1") }, "no match: fallthrough upstream: \(vm.text)")
            let reddog = try dig(server.port, ["anything.reddog.microsoft.com", "A"])
            #expect(reddog.status == "NXDOMAIN")
            #expect(fake.queries(named: "web.shop.svc.cluster.local.internal.cloudapp.net.") == 0)
            #expect(fake.queries(named: "anything.reddog.microsoft.com.") == 0)
            #expect(fake.queries(named: "myvm.internal.cloudapp.net.") == 1)
        }
    }

    /// AKS's documented rewrite (`aks-custom-rewrite.rendered.Corefile`, its own server block):
    /// `name regex (.*)\.example\.com {1}.default.svc.cluster.local` with `answer name` back, beside
    /// kubeadm's block: the client asks for `kubernetes.example.com` and gets that name's answer.
    @Test func aksRewriteIntoTheCluster() throws {
        let rewrite = try String(contentsOfFile: Self.corpus + "/aks-custom-rewrite.rendered.Corefile", encoding: .utf8)
        let corefile = try Self.write(Self.kubeadm + "\n" + rewrite)
        try withUpstream { fake in
            let server = try ServerProcess(arguments: ["--zones", Self.zones, "--upstream", "127.0.0.1:\(fake.port)"],
                                           command: ["-conf", corefile])
            defer { server.stop() }
            let a = try dig(server.port, ["kubernetes.example.com", "A"])
            #expect(a.status == "NOERROR", "\(a.text)")
            #expect(a.answers.contains { $0.hasPrefix("kubernetes.example.com.") && $0.hasSuffix("10.96.0.1") }, "\(a.text)")
            #expect(a.text.contains(";kubernetes.example.com.\t"), "the question as asked")
            let missing = try dig(server.port, ["nothere.example.com", "A"])
            #expect(missing.status == "NXDOMAIN", "\(missing.text)")
            #expect(fake.queries(named: "kubernetes.example.com.") == 0)
        }
    }

    // MARK: the kubernetes plugin against the fake API

    /// EKS's Corefile as it ships (`eks.Corefile`, unchanged) with `-conf` first and the cluster
    /// behind `--kubeconfig` (in a pod the ServiceAccount's token is found without it): the
    /// kubernetes plugin lists and watches the fake API, answers its Services, endpoints, SRV and
    /// PTR, and an object added later shows up.
    @Test func eksCorefileAgainstTheFakeAPI() throws {
        let api = try FakeKubeAPI.start()
        defer { api.stop() }
        KubernetesAPITests.seed(api)
        try withUpstream { fake in
            let server = try ServerProcess(arguments: ["--kubeconfig", try api.writeKubeconfig(), "--upstream", "127.0.0.1:\(fake.port)"],
                                           http: true, waitForDNS: false, command: ["-conf", Self.corpus + "/eks.Corefile"])
            defer { server.stop() }
            #expect(try Self.eventually(seconds: 10) { server.get("/ready")?.status == 200 }, "\(server.log)")
            let web = try dig(server.port, ["web.default.svc.cluster.local", "A"])
            #expect(web.answers.contains { $0.hasSuffix("\tA\t10.96.0.10") }, "\(web.text)")
            let db = try dig(server.port, ["db.data.svc.cluster.local", "A"])
            #expect(db.answers.filter { $0.contains("\tA\t10.244.1.") }.count == 2, "headless: \(db.text)")
            let srv = try dig(server.port, ["_postgres._tcp.db.data.svc.cluster.local", "SRV"])
            #expect(srv.answers.contains { $0.hasSuffix("5432 db-0.db.data.svc.cluster.local.") }, "\(srv.text)")
            let ptr = try dig(server.port, ["-x", "10.96.0.10"])
            #expect(ptr.answers.contains { $0.hasSuffix("web.default.svc.cluster.local.") }, "\(ptr.text)")
            let pod = try dig(server.port, ["10-244-9-9.data.pod.cluster.local", "A"])
            #expect(pod.answers.contains { $0.hasSuffix("10.244.9.9") }, "pods insecure: \(pod.text)")

            api.apply(.services, KubernetesAPITests.service("default", "late", clusterIP: "10.96.0.77"))
            #expect(try Self.eventually(seconds: 5) { try dig(server.port, ["late.default.svc.cluster.local", "A"]).answers.contains { $0.hasSuffix("10.96.0.77") } },
                    "a Service added after the sync is served: \(server.log)")
        }
    }

    /// Talos's Corefile (`talos.rendered.Corefile`) with the kubernetes plugin's own `kubeconfig`
    /// option, as an operator running it outside the cluster writes it, and no flag but `-conf`.
    @Test func talosCorefileWithItsOwnKubeconfigOption() throws {
        let api = try FakeKubeAPI.start()
        defer { api.stop() }
        KubernetesAPITests.seed(api)
        let talos = try String(contentsOfFile: Self.corpus + "/talos.rendered.Corefile", encoding: .utf8)
        let withKubeconfig = talos.replacingOccurrences(of: "        pods insecure\n",
                                                        with: "        pods insecure\n        kubeconfig \(try api.writeKubeconfig())\n")
        #expect(withKubeconfig != talos)
        let corefile = try Self.write(withKubeconfig)
        try withUpstream { fake in
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(fake.port)"], http: true, waitForDNS: false,
                                           command: ["-conf", corefile])
            defer { server.stop() }
            #expect(try Self.eventually(seconds: 10) { server.get("/ready")?.status == 200 }, "\(server.log)")
            let web = try dig(server.port, ["web.default.svc.cluster.local", "A"])
            #expect(web.answers.contains { $0.split(whereSeparator: \.isWhitespace).map(String.init) == ["web.default.svc.cluster.local.", "30", "IN", "A", "10.96.0.10"] },
                    "ttl 30 from the Corefile: \(web.text)")
            let missing = try dig(server.port, ["nothere.default.svc.cluster.local", "A"])
            #expect(missing.status == "NXDOMAIN", "\(missing.text)")
            let outside = try dig(server.port, ["www.example.com", "A"])
            #expect(outside.answers.contains { $0.hasSuffix("192.0.2.1") }, "forwarded: \(outside.text)")
        }
    }

    static func eventually(seconds: Double, _ condition: () throws -> Bool) throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return try condition()
    }
}
