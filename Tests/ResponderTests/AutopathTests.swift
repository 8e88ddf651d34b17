import DNSResponder
import DNSWire
import RecordIndex
import Testing
import TestSupport

/// Issue 16: autopath. A pod in `shop` has `search shop.svc.cluster.local svc.cluster.local
/// cluster.local` and `ndots:5`, so its first question for any short name X is
/// `X.shop.svc.cluster.local`. When that does not exist and the client's address is known to be
/// in `shop`, the server walks `X.svc.cluster.local`, `X.cluster.local`, then X, and answers
/// the first that exists behind a CNAME from the asked name (CoreDNS `autopath @kubernetes`).
///
/// 127.0.0.1 is a pod of `shop` here (an endpoint with a Pod targetRef), so every case also
/// runs over UDP and TCP from loopback.
@Suite struct AutopathTests {
    static let yaml = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: other}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: kubernetes, namespace: default}
        spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443, protocol: TCP}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec: {clusterIP: 10.96.10.20, ports: [{name: http, port: 80, protocol: TCP}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        ports: [{name: http, port: 80, protocol: TCP}]
        endpoints:
          - addresses: [127.0.0.1]
            conditions: {ready: true}
            targetRef: {kind: Pod, name: web-0, namespace: shop}
          - addresses: [10.244.1.20]
            conditions: {ready: false}
            targetRef: {kind: Pod, name: web-1, namespace: shop}
          - addresses: [10.244.9.9]
            conditions: {ready: true}
            targetRef: {kind: Pod, name: web-2, namespace: shop}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ext, namespace: default}
        spec: {type: ExternalName, externalName: web.shop.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: other}
        spec: {clusterIP: 10.96.20.30, ports: [{name: http, port: 80, protocol: TCP}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: api-1, namespace: other, labels: {kubernetes.io/service-name: api}}
        addressType: IPv4
        endpoints:
          - addresses: [10.244.9.9]
            conditions: {ready: true}
            targetRef: {kind: Pod, name: api-0, namespace: other}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: exporter, namespace: other}
        spec: {hostNetwork: true}
        status: {phase: Running, podIP: 10.0.0.5, hostIP: 10.0.0.5}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: cache-0, namespace: other}
        status: {phase: Running, podIP: 10.244.5.5, hostIP: 10.0.0.6}
        """
    static let world = try! World(yaml: yaml, autopath: true)
    static let plainWorld = try! World(yaml: yaml)
    static let soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"
    let w = AutopathTests.world

    // "X.svc.ZONE": `kubernetes.default`, asked as a pod of shop asks it first.
    @Test func foundInSvc() async throws {
        try await w.check(Case("kubernetes.default.shop.svc.cluster.local.", .a, answer: """
            kubernetes.default.shop.svc.cluster.local. 5 IN CNAME kubernetes.default.svc.cluster.local.
            kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1
            """))
    }

    // Names compare without case (RFC 4343); the CNAME's owner echoes the question and its
    // target keeps the client's spelling of X.
    @Test func anyCase() async throws {
        try await w.check(Case("Kubernetes.DEFAULT.Shop.SVC.cluster.local.", .a, answer: """
            Kubernetes.DEFAULT.Shop.SVC.cluster.local. 5 IN CNAME Kubernetes.DEFAULT.svc.cluster.local.
            Kubernetes.DEFAULT.svc.cluster.local. 5 IN A 10.96.0.1
            """))
    }

    // "X.ZONE": `dns-version` exists at the zone's top.
    @Test func foundInZone() async throws {
        try await w.check(Case("dns-version.shop.svc.cluster.local.", .txt, answer: """
            dns-version.shop.svc.cluster.local. 5 IN CNAME dns-version.cluster.local.
            dns-version.cluster.local. 28800 IN TXT "1.1.0"
            """))
    }

    // A found name without the type: CNAME, then NODATA with the SOA; the CNAME's TTL is no
    // longer than the SOA's that makes the answer negative.
    @Test func foundWithoutType() async throws {
        try await w.check(Case("kubernetes.default.shop.svc.cluster.local.", .aaaa,
            answer: "kubernetes.default.shop.svc.cluster.local. 5 IN CNAME kubernetes.default.svc.cluster.local.",
            authority: Self.soa))
    }

    // The found name is an ExternalName: our CNAME, then its chain, chased in our zones.
    @Test func foundIsCNAME() async throws {
        try await w.check(Case("ext.default.shop.svc.cluster.local.", .a, answer: """
            ext.default.shop.svc.cluster.local. 5 IN CNAME ext.default.svc.cluster.local.
            ext.default.svc.cluster.local. 5 IN CNAME web.shop.svc.cluster.local.
            web.shop.svc.cluster.local. 5 IN A 10.96.10.20
            """))
    }

    // "the search-path name exists in our zones": the name itself answers, no walk.
    @Test func askedNameExists() async throws {
        try await w.check(Case("web.shop.svc.cluster.local.", .a, answer: "web.shop.svc.cluster.local. 5 IN A 10.96.10.20"))
        try await w.check(Case("127-0-0-1.web.shop.svc.cluster.local.", .a,
            answer: "127-0-0-1.web.shop.svc.cluster.local. 5 IN A 127.0.0.1"))
    }

    // Nothing on the path exists (and nothing is forwarded): the asked name's own NXDOMAIN.
    @Test func nothingFound() async throws {
        try await w.check(Case("nope.shop.svc.cluster.local.", .a, rcode: .nxDomain, authority: Self.soa))
        try await w.check(Case("www.example.test.shop.svc.cluster.local.", .a, rcode: .nxDomain, authority: Self.soa))
    }

    // Only the client's own first search domain is walked: a pod of shop asking in `other`.
    @Test func otherNamespaceIsPlain() async throws {
        try await w.check(Case("kubernetes.default.other.svc.cluster.local.", .a, rcode: .nxDomain, authority: Self.soa))
    }

    // A not-ready endpoint is still a pod that asks: its address counts.
    @Test func notReadyEndpointCounts() async throws {
        try await w.check(Case("kubernetes.default.shop.svc.cluster.local.", .a, answer: """
            kubernetes.default.shop.svc.cluster.local. 5 IN CNAME kubernetes.default.svc.cluster.local.
            kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1
            """), from: .v4(10, 244, 1, 20))
    }

    // "A client whose namespace is unknown, ambiguous (an address reused across namespaces) or
    // a node address gets the plain answer, never a guess."
    @Test func unknownAmbiguousAndNodeClientsArePlain() async throws {
        let plain = Case("kubernetes.default.shop.svc.cluster.local.", .a, rcode: .nxDomain, authority: Self.soa)
        try await w.check(plain, from: .v4(10, 244, 7, 7))  // unknown
        try await w.check(plain, from: .v4(10, 244, 9, 9))  // in shop and in other
        try await w.check(Case("kubernetes.default.other.svc.cluster.local.", .a, rcode: .nxDomain, authority: Self.soa),
                          from: .v4(10, 0, 0, 5))  // a hostNetwork pod's: the node's
        try await w.check(Case("kubernetes.default.other.svc.cluster.local.", .a, rcode: .nxDomain, authority: Self.soa),
                          from: .v4(10, 0, 0, 6))  // a Pod's hostIP
        // A Pod (not hostNetwork) puts its own address in its namespace.
        try await w.check(Case("kubernetes.default.other.svc.cluster.local.", .a, answer: """
            kubernetes.default.other.svc.cluster.local. 5 IN CNAME kubernetes.default.svc.cluster.local.
            kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1
            """), from: .v4(10, 244, 5, 5))
    }

    // Without --autopath the same client gets the plain answers.
    @Test func offByDefault() async throws {
        try await Self.plainWorld.check(Case("kubernetes.default.shop.svc.cluster.local.", .a, rcode: .nxDomain, authority: Self.soa))
    }

    // "the client's namespace is deleted": its names go, and so does the walk.
    @Test func namespaceDeleted() async throws {
        let gone = try World(yaml: """
            apiVersion: v1
            kind: Service
            metadata: {name: kubernetes, namespace: default}
            spec: {clusterIP: 10.96.0.1}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
            addressType: IPv4
            endpoints:
              - addresses: [127.0.0.1]
                targetRef: {kind: Pod, name: web-0, namespace: shop}
            """, options: { var o = IndexOptions(); o.namespaces = ["default"]; return o }(), autopath: true)
        // `shop` is not exposed, so `shop.svc` does not exist: no search path to walk.
        try await gone.check(Case("kubernetes.default.shop.svc.cluster.local.", .a, rcode: .nxDomain, authority: Self.soa))
    }

    // The direct path leaves a known client's misses to the walk, and still answers the rest:
    // both paths give the same bytes for every name of this world from every client.
    @Test func directPathAgrees() throws {
        let processor = QueryProcessor(autopath: true)
        let names = ["kubernetes.default.shop.svc.cluster.local.", "web.shop.svc.cluster.local.", "nope.shop.svc.cluster.local.",
                     "dns-version.shop.svc.cluster.local.", "x.y.other.svc.cluster.local.", "1.0.0.127.in-addr.arpa."]
        let clients: [IPAddress?] = [nil, .v4(127, 0, 0, 1), .v4(10, 244, 9, 9), .v4(10, 0, 0, 5)]
        var answeredDirect = 0
        for name in names {
            for type in [RecordType.a, .aaaa, .txt, .ptr] {
                for client in clients {
                    let q = DNSClient.query(name, type)
                    guard case .reply(let long, _) = processor.respond(to: q, transport: .udp, snapshot: w.snapshot, client: client) else {
                        Issue.record("\(name) \(type): no reply"); continue
                    }
                    var out = [UInt8](repeating: 0, count: 1232)
                    let direct = q.withUnsafeBytes { qb in
                        out.withUnsafeMutableBytes { ob in
                            processor.respondDirect(to: qb, into: ob, transport: .udp, snapshot: w.snapshot, client: client)
                        }
                    }
                    guard let direct else { continue }
                    answeredDirect += 1
                    #expect(Array(out[0..<direct.count]) == long, "\(name) \(type) from \(String(describing: client))")
                }
            }
        }
        #expect(answeredDirect > 0)
    }

    // Metrics: hits with the questions saved, misses.
    @Test func counted() throws {
        let processor = QueryProcessor(autopath: true)
        for name in ["kubernetes.default.shop.svc.cluster.local.", "dns-version.shop.svc.cluster.local.", "nope.shop.svc.cluster.local."] {
            _ = processor.respond(to: DNSClient.query(name, .a), transport: .udp, snapshot: w.snapshot, client: .v4(127, 0, 0, 1))
        }
        #expect(processor.searchCounters.hits.load(ordering: .relaxed) == 2)
        #expect(processor.searchCounters.misses.load(ordering: .relaxed) == 1)
        #expect(processor.searchCounters.savedQueries.load(ordering: .relaxed) == 3)
    }
}
