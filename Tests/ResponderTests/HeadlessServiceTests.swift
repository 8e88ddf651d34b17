import DNSWire
import Testing
import TestSupport

/// kubernetes-dns.md §2.4: headless Services (S15–S23, D7–D10).
@Suite struct HeadlessServiceTests {
    let w = SpecWorld.world

    // S16: "one A per ready IPv4 endpoint"; S4: the not-ready 172.0.0.12 is left out.
    @Test func s16_A_perReadyEndpoint() async throws {
        try await w.check(Case("hdls1.testns.svc.cluster.local.", .a, answer: """
            hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.10
            hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.11
            """))
    }

    // S19: the same for IPv6.
    @Test func s19_AAAA_perReadyEndpoint() async throws {
        try await w.check(Case("hdls1.testns.svc.cluster.local.", .aaaa, answer: """
            hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1
            hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2
            """))
    }

    // S17: "When a headless Service has no ready endpoints, the A and AAAA queries answer NXDOMAIN."
    @Test func s17_noReadyEndpoints_isNXDomain() async throws {
        try await w.check(Case("hdlsempty.testns.svc.cluster.local.", .a, rcode: .nxDomain, authority: SpecWorld.soa))
        try await w.check(Case("_http._tcp.hdlsempty.testns.svc.cluster.local.", .srv, rcode: .nxDomain, authority: SpecWorld.soa))
    }

    // S18/S20/D7: the hostname record, merged across the IPv4 and IPv6 slices.
    @Test func s18_s20_hostnameRecords() async throws {
        try await w.check(Case("pet.hdls1.testns.svc.cluster.local.", .a, answer: "pet.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.10"))
        try await w.check(Case("pet.hdls1.testns.svc.cluster.local.", .aaaa, answer: "pet.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1"))
    }

    // S5: without a hostname the endpoint is named by its dashed IP; an explicit hostname hides it.
    @Test func s5_dashedNames() async throws {
        try await w.check(Case("172-0-0-11.hdls1.testns.svc.cluster.local.", .a, answer: "172-0-0-11.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.11"))
        try await w.check(Case("5678-abcd--2.hdls1.testns.svc.cluster.local.", .aaaa, answer: "5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2"))
        try await w.check(Case("172-0-0-10.hdls1.testns.svc.cluster.local.", .a, rcode: .nxDomain, authority: SpecWorld.soa))
    }

    // S4: a not-ready endpoint has no name.
    @Test func s4_notReadyHasNoName() async throws {
        try await w.check(Case("sick.hdls1.testns.svc.cluster.local.", .a, rcode: .nxDomain, authority: SpecWorld.soa))
    }

    // S21: SRV per ready endpoint × named port; one target per hostname (D7), with A/AAAA glue (S12).
    @Test func s21_srvPerEndpoint() async throws {
        try await w.check(Case("_http._tcp.hdls1.testns.svc.cluster.local.", .srv, answer: """
            _http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 25 80 pet.hdls1.testns.svc.cluster.local.
            _http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 25 80 172-0-0-11.hdls1.testns.svc.cluster.local.
            _http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 25 80 5678-abcd--2.hdls1.testns.svc.cluster.local.
            """, additional: """
            pet.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.10
            pet.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1
            172-0-0-11.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.11
            5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2
            """))
    }

    // S22/S23: PTR for every ready endpoint, to its hostname name.
    @Test func s22_s23_endpointPTR() async throws {
        try await w.check(Case("10.0.0.172.in-addr.arpa.", .ptr, answer: "10.0.0.172.in-addr.arpa. 5 IN PTR pet.hdls1.testns.svc.cluster.local."))
        let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa."
        try await w.check(Case(v6, .ptr, answer: "\(v6) 5 IN PTR pet.hdls1.testns.svc.cluster.local."))
        // Not-ready endpoints get no PTR.
        try await w.check(Case("12.0.0.172.in-addr.arpa.", .ptr, rcode: .nxDomain))
    }

    // D8: a slice without the service-name label belongs to no Service and gets no PTR;
    // a missing `ready` counts as ready.
    @Test func d8_sliceRules() async throws {
        try await w.check(Case("99.0.0.172.in-addr.arpa.", .ptr, rcode: .nxDomain))
        try await w.check(Case("nilready.testns.svc.cluster.local.", .a, answer: "nilready.testns.svc.cluster.local. 5 IN A 172.0.0.20"))
    }

    // D10 + issue 3: a selector Service with Pods only gets derived endpoints; hostname/subdomain
    // names StatefulSet members; publishNotReadyAddresses publishes db-1; the named targetPort
    // resolves to the container port.
    @Test func d10_statefulSetFromPods() async throws {
        try await w.check(Case("db-1.db.testns.svc.cluster.local.", .a, answer: "db-1.db.testns.svc.cluster.local. 5 IN A 172.0.1.2"))
        try await w.check(Case("_pg._tcp.db.testns.svc.cluster.local.", .srv, answer: """
            _pg._tcp.db.testns.svc.cluster.local. 5 IN SRV 0 50 15432 db-0.db.testns.svc.cluster.local.
            _pg._tcp.db.testns.svc.cluster.local. 5 IN SRV 0 50 15432 db-1.db.testns.svc.cluster.local.
            """))
        // A pod whose subdomain names no Service gets no name.
        try await w.check(Case("lonely.nosuchservice.testns.svc.cluster.local.", .a, rcode: .nxDomain))
    }

    // Issue 3: v1 Endpoints are converted like the mirroring controller (notReadyAddresses not ready).
    @Test func endpointsV1_mirrored() async throws {
        try await w.check(Case("legacy.testns.svc.cluster.local.", .a, answer: "legacy.testns.svc.cluster.local. 5 IN A 172.0.0.30"))
        try await w.check(Case("old.legacy.testns.svc.cluster.local.", .a, answer: "old.legacy.testns.svc.cluster.local. 5 IN A 172.0.0.30"))
    }
}
