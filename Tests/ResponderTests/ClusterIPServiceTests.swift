import DNSWire
import Testing
import TestSupport

/// kubernetes-dns.md §2.3: ClusterIP Services (S7–S14, D6).
@Suite struct ClusterIPServiceTests {
    let w = SpecWorld.world

    // S7: "<service>.<ns>.svc.<zone>. <ttl> IN A <cluster-ip>".
    @Test func s7_clusterIPv4_A() async throws {
        try await w.check(Case("svc1.testns.svc.cluster.local.", .a, answer: "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"))
    }

    // S7: a ClusterIP Service with zero endpoints still answers its VIP.
    @Test func s7_noEndpoints_stillAnswers() async throws {
        try await w.check(Case("empty.testns.svc.cluster.local.", .a, answer: "empty.testns.svc.cluster.local. 5 IN A 10.0.0.10"))
    }

    // S8/D6: dual-stack serves both families from clusterIPs at one name.
    @Test func s8_dualStack_AAAA() async throws {
        try await w.check(Case("svc6.testns.svc.cluster.local.", .aaaa, answer: "svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::6"))
        try await w.check(Case("svc6.testns.svc.cluster.local.", .a, answer: "svc6.testns.svc.cluster.local. 5 IN A 10.0.0.6"))
    }

    // D1: "svc1.testns.svc.cluster.local. AAAA with only an IPv4 ClusterIP → NODATA".
    @Test func d1_missingFamily_isNoData() async throws {
        try await w.check(Case("svc1.testns.svc.cluster.local.", .aaaa, authority: SpecWorld.soa))
    }

    // S9: "_<port>._<proto>.<service>.<ns>.svc.<zone>. IN SRV <prio> <weight> <port> <service>…", with
    // the Service's A in the additional section (S12).
    @Test func s9_srvForNamedPort() async throws {
        try await w.check(Case("_http._tcp.svc1.testns.svc.cluster.local.", .srv,
            answer: "_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.",
            additional: "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"))
        try await w.check(Case("_c-port._udp.svc1.testns.svc.cluster.local.", .srv,
            answer: "_c-port._udp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 1234 svc1.testns.svc.cluster.local."))
    }

    // S9/S3: protocol matching is case-insensitive.
    @Test func s9_caseInsensitiveProtocol() async throws {
        try await w.check(Case("_HTTP._TCP.svc1.testns.svc.cluster.local.", .srv,
            answer: "_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local."))
    }

    // S9: "A port name or protocol that does not exist on the Service means the SRV name does not exist".
    @Test func s9_unknownPortOrProtocol_isNXDomain() async throws {
        try await w.check(Case("_nope._tcp.svc1.testns.svc.cluster.local.", .srv, rcode: .nxDomain, authority: SpecWorld.soa))
        try await w.check(Case("_http._udp.svc1.testns.svc.cluster.local.", .srv, rcode: .nxDomain, authority: SpecWorld.soa))
    }

    // S10/D6: dual-stack ClusterIP → one SRV target with A and AAAA glue, weight 50 (CoreDNS).
    @Test func s10_dualStackSRV() async throws {
        try await w.check(Case("_http._tcp.svc6.testns.svc.cluster.local.", .srv,
            answer: "_http._tcp.svc6.testns.svc.cluster.local. 5 IN SRV 0 50 80 svc6.testns.svc.cluster.local.",
            additional: """
            svc6.testns.svc.cluster.local. 5 IN A 10.0.0.6
            svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::6
            """))
    }

    // S11: unnamed ports get no `_port._proto` SRV; the bare service name lists every port (extension).
    @Test func s11_unnamedPort_onlyAtBareName() async throws {
        try await w.check(Case("single.testns.svc.cluster.local.", .srv,
            answer: "single.testns.svc.cluster.local. 5 IN SRV 0 100 8080 single.testns.svc.cluster.local."))
    }

    // D1 / coredns-kubernetes.md §4 item 17: `_<proto>.<svc>` is an empty non-terminal → NODATA (RFC).
    @Test func d1_protoLabel_isEmptyNonTerminal() async throws {
        try await w.check(Case("_tcp.svc1.testns.svc.cluster.local.", .srv, authority: SpecWorld.soa))
    }

    // S13: "d.c.b.a.in-addr.arpa. <ttl> IN PTR <service>.<ns>.svc.<zone>."
    @Test func s13_ptrIPv4() async throws {
        try await w.check(Case("1.0.0.10.in-addr.arpa.", .ptr, answer: "1.0.0.10.in-addr.arpa. 5 IN PTR svc1.testns.svc.cluster.local."))
    }

    // S14: the IPv6 nibble form; hex in either case (S3).
    @Test func s14_ptrIPv6() async throws {
        let name = "6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.D.C.B.A.4.3.2.1.ip6.arpa."
        try await w.check(Case(name, .ptr, answer: "\(name) 5 IN PTR svc6.testns.svc.cluster.local."))
    }

    // D15: a ClusterIP answers only with the Service name; unknown IPs are NXDOMAIN with the
    // reverse zone's SOA.
    @Test func d15_unknownIP_isNXDomain() async throws {
        try await w.check(Case("9.9.9.9.in-addr.arpa.", .ptr, rcode: .nxDomain,
            authority: "in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 0 7200 1800 86400 5"))
    }

    // RFC 1035 §3.5: an octet of the reverse name is its decimal value, so `01.0.0.10` is not
    // 10.0.0.1's name, and a name one label short or long is no address's: NXDOMAIN, or NODATA
    // for the empty non-terminal above the PTRs (RFC 8020). Other types at a PTR's name: NODATA.
    @Test func ptrNamesAreExact() async throws {
        let soa = "in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 0 7200 1800 86400 5"
        for name in ["01.0.0.10.in-addr.arpa.", "x.1.0.0.10.in-addr.arpa.", "256.0.0.10.in-addr.arpa."] {
            try await w.check(Case(name, .ptr, rcode: .nxDomain, authority: soa), sockets: false)
        }
        try await w.check(Case("0.0.10.in-addr.arpa.", .ptr, authority: soa), sockets: false)
        try await w.check(Case("1.0.0.10.IN-ADDR.ARPA.", .a, authority: soa))
        try await w.check(Case("1.0.0.10.IN-ADDR.ARPA.", .ptr, answer: "1.0.0.10.IN-ADDR.ARPA. 5 IN PTR svc1.testns.svc.cluster.local."))
    }

    // Extension (coredns-kubernetes.md §4 items 1–2): endpoint names and PTRs under ClusterIP Services.
    @Test func ext_endpointNamesUnderClusterIP() async throws {
        try await w.check(Case("ep1a.svc1.testns.svc.cluster.local.", .a, answer: "ep1a.svc1.testns.svc.cluster.local. 5 IN A 172.0.0.2"))
        try await w.check(Case("2.0.0.172.in-addr.arpa.", .ptr, answer: "2.0.0.172.in-addr.arpa. 5 IN PTR ep1a.svc1.testns.svc.cluster.local."))
    }
}
