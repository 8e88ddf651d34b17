import DNSResponder
import DNSWire
import KubeModel
import RecordIndex
import Testing
import TestSupport

/// The index options of issue 3 (coredns-kubernetes.md §1) and the remaining derived rules:
/// D5 TTLs, D9, D11 with `--namespace`, D17 Service types, D18 before the first sync, S26 pods.
@Suite struct OptionsAndEdgesTests {
    static let yaml = """
    apiVersion: v1
    kind: Service
    metadata: {name: np, namespace: a}
    spec: {type: NodePort, clusterIP: 10.96.3.1, ports: [{name: http, port: 80, nodePort: 30080}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: lb, namespace: a}
    spec:
      type: LoadBalancer
      clusterIP: 10.96.3.2
      externalIPs: [203.0.113.9]
    status: {loadBalancer: {ingress: [{ip: 198.51.100.7}]}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: 1st, namespace: a}
    spec: {clusterIP: 10.96.3.3}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: pna, namespace: b}
    spec: {clusterIP: None, publishNotReadyAddresses: true}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: pna-1, namespace: b, labels: {kubernetes.io/service-name: pna}}
    addressType: IPv4
    endpoints:
      - {addresses: [10.1.0.1], conditions: {ready: false}}
      - {addresses: [10.1.0.2], conditions: {ready: true}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: p, namespace: a}
    status: {phase: Running, podIP: 10.244.9.9}
    """

    // D17: NodePort and LoadBalancer publish only their ClusterIP; names may start with a digit.
    @Test func d17_serviceTypes() async throws {
        let w = try World(yaml: Self.yaml)
        try await w.check(Case("np.a.svc.cluster.local.", .a, answer: "np.a.svc.cluster.local. 5 IN A 10.96.3.1"), sockets: false)
        try await w.check(Case("lb.a.svc.cluster.local.", .a, answer: "lb.a.svc.cluster.local. 5 IN A 10.96.3.2"), sockets: false)
        try await w.check(Case("9.113.0.203.in-addr.arpa.", .ptr, rcode: .nxDomain), sockets: false)
        try await w.check(Case("1st.a.svc.cluster.local.", .a, answer: "1st.a.svc.cluster.local. 5 IN A 10.96.3.3"), sockets: false)
    }

    // D9: "A hand-written slice that says ready: false is not served, even under a Service with
    // publishNotReadyAddresses."
    @Test func d9_handWrittenNotReady() async throws {
        let w = try World(yaml: Self.yaml)
        try await w.check(Case("pna.b.svc.cluster.local.", .a, answer: "pna.b.svc.cluster.local. 5 IN A 10.1.0.2"), sockets: false)
    }

    // D5: `--ttl` sets every generated record and the SOA minimum; the SOA's own TTL is
    // min(ttl, 300); dns-version stays 28800.
    @Test func d5_ttl() async throws {
        var o = IndexOptions()
        o.ttl = 600
        let w = try World(yaml: Self.yaml, options: o)
        try await w.check(Case("np.a.svc.cluster.local.", .a, answer: "np.a.svc.cluster.local. 600 IN A 10.96.3.1"), sockets: false)
        try await w.check(Case("cluster.local.", .soa, answer: "cluster.local. 300 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 600"), sockets: false)
        try await w.check(Case("dns-version.cluster.local.", .txt, answer: "dns-version.cluster.local. 28800 IN TXT \"1.1.0\""), sockets: false)
    }

    // D11: with `--namespace`, other namespaces behave as if absent, reverse lookups included.
    @Test func d11_exposedNamespaces() async throws {
        var o = IndexOptions()
        o.namespaces = ["b"]
        let w = try World(yaml: Self.yaml, options: o)
        try await w.check(Case("np.a.svc.cluster.local.", .a, rcode: .nxDomain), sockets: false)
        try await w.check(Case("a.svc.cluster.local.", .a, rcode: .nxDomain), sockets: false)
        try await w.check(Case("1.3.96.10.in-addr.arpa.", .ptr, rcode: .nxDomain), sockets: false)
        try await w.check(Case("pna.b.svc.cluster.local.", .a, answer: "pna.b.svc.cluster.local. 5 IN A 10.1.0.2"), sockets: false)
    }

    // S26 / §3.6: `pods verified` answers only IPs of Pods in that namespace; `insecure` any IP.
    @Test func s26_podRecords() async throws {
        var o = IndexOptions()
        o.pods = .verified
        let verified = try World(yaml: Self.yaml, options: o)
        try await verified.check(Case("10-244-9-9.a.pod.cluster.local.", .a, answer: "10-244-9-9.a.pod.cluster.local. 5 IN A 10.244.9.9"), sockets: false)
        try await verified.check(Case("10-244-9-8.a.pod.cluster.local.", .a, rcode: .nxDomain), sockets: false)
        try await verified.check(Case("10-244-9-9.b.pod.cluster.local.", .a, rcode: .nxDomain), sockets: false)
        o.pods = .insecure
        let insecure = try World(yaml: Self.yaml, options: o)
        try await insecure.check(Case("1-2-3-4.a.pod.cluster.local.", .a, answer: "1-2-3-4.a.pod.cluster.local. 5 IN A 1.2.3.4"), sockets: false)
        try await insecure.check(Case("2001-db8--1.a.pod.cluster.local.", .aaaa, answer: "2001-db8--1.a.pod.cluster.local. 5 IN AAAA 2001:db8::1"), sockets: false)
        try await insecure.check(Case("1-2-3-4.a.pod.cluster.local.", .aaaa, authority: SpecWorld.soa), sockets: false)
        try await insecure.check(Case("1-2-3-999.a.pod.cluster.local.", .a, rcode: .nxDomain), sockets: false)
        try await insecure.check(Case("1-2-3-4.nope.pod.cluster.local.", .a, rcode: .nxDomain), sockets: false)
        try await insecure.check(Case("a.pod.cluster.local.", .a, authority: SpecWorld.soa), sockets: false)
    }

    // D18: before the first sync, a name that is missing may yet exist → SERVFAIL, never NXDOMAIN;
    // names that exist still answer.
    @Test func d18_beforeSync() throws {
        let (zones, stats) = ClusterIndex.build(ClusterObjects(), options: IndexOptions(), serial: 1, synced: false)
        let snapshot = Snapshot(zones: zones, stats: stats)
        #expect(Responder.answer(Question(name: DNSName("web.shop.svc.cluster.local.")!, type: .a), in: snapshot).rcode == .servFail)
        #expect(Responder.answer(Question(name: DNSName("cluster.local.")!, type: .soa), in: snapshot).rcode == .noError)
    }
}
