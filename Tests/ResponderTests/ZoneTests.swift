import DNSWire
import RecordIndex
import Testing
import TestSupport

/// The zone itself: S1–S3, S6, S26 and the derived rules D1–D5, D11, D14, D19.
@Suite struct ZoneTests {
    let w = SpecWorld.world

    // S6: "A TXT record at dns-version.<zone>. holds the schema's semantic version", TTL 28800.
    @Test func s6_dnsVersion() async throws {
        try await w.check(Case("dns-version.cluster.local.", .txt, answer: "dns-version.cluster.local. 28800 IN TXT \"1.1.0\""))
        // coredns-kubernetes.md §4 item 15: other types there are NODATA (RFC), not NXDOMAIN.
        try await w.check(Case("dns-version.cluster.local.", .a, authority: SpecWorld.soa))
    }

    // S3: "Query data is compared with Kubernetes data without regard to case"; D14: the answer
    // echoes the question's case (checked by every case).
    @Test func s3_caseInsensitive() async throws {
        try await w.check(Case("SVC1.TestNS.Svc.CLUSTER.local.", .a, answer: "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"))
    }

    // D1: existing names — apex, svc, namespaces (even without Services) — are NODATA.
    @Test func d1_existingNamesAreNoData() async throws {
        for name in ["cluster.local.", "svc.cluster.local.", "testns.svc.cluster.local.", "emptyns.svc.cluster.local.", "pod.cluster.local."] {
            try await w.check(Case(name, .a, authority: SpecWorld.soa), sockets: false)
        }
        // Item 14: TXT at an empty non-terminal or at the apex → NODATA.
        try await w.check(Case("svc.cluster.local.", .txt, authority: SpecWorld.soa))
    }

    // D11: names under a namespace that does not exist → NXDOMAIN.
    @Test func d11_missingNamespace() async throws {
        try await w.check(Case("svc1.nsnoexist.svc.cluster.local.", .a, rcode: .nxDomain, authority: SpecWorld.soa))
        try await w.check(Case("nsnoexist.svc.cluster.local.", .a, rcode: .nxDomain, authority: SpecWorld.soa))
    }

    // D19: beyond the grammar → NXDOMAIN; no wildcards.
    @Test func d19_beyondGrammar() async throws {
        for name in ["a.b.c.svc1.testns.svc.cluster.local.", "foo.cluster.local.", "*.testns.svc.cluster.local.", "any.testns.svc.cluster.local."] {
            try await w.check(Case(name, .a, rcode: .nxDomain, authority: SpecWorld.soa), sockets: false)
        }
    }

    // D4: SOA and NS at the apex; item 16: SOA at a missing name is NXDOMAIN.
    @Test func d4_apexRecords() async throws {
        try await w.check(Case("cluster.local.", .soa, answer: SpecWorld.soa))
        try await w.check(Case("cluster.local.", .ns, answer: "cluster.local. 5 IN NS ns.dns.cluster.local."))
        try await w.check(Case("missing.cluster.local.", .soa, rcode: .nxDomain))
    }

    // RFC 8906 §8.1.2: unknown types at existing names → NODATA.
    @Test func unknownType_isNoData() async throws {
        try await w.check(Case("svc1.testns.svc.cluster.local.", RecordType(1000), authority: SpecWorld.soa))
    }

    // D16: out-of-zone names are REFUSED while no forwarding is configured.
    @Test func d16_outOfZone_refused() async throws {
        try await w.check(Case("example.com.", .a, rcode: .refused))
    }

    // S26/§3.6: pods disabled → `<ip>.<ns>.pod.<zone>` NXDOMAIN.
    @Test func s26_podsDisabled() async throws {
        try await w.check(Case("1-2-3-4.testns.pod.cluster.local.", .a, rcode: .nxDomain))
    }
}
