import DNSWire
import Testing
import TestSupport

/// kubernetes-dns.md §2.5: ExternalName Services (S24, D12), RFC answers where CoreDNS differs.
@Suite struct ExternalNameTests {
    let w = SpecWorld.world

    // S24: "<service>.<ns>.svc.<zone>. <ttl> IN CNAME <extname>." — the target ends in one dot.
    @Test func s24_cname() async throws {
        try await w.check(Case("ext.testns.svc.cluster.local.", .a, answer: "ext.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."))
        try await w.check(Case("ext.testns.svc.cluster.local.", .cname, answer: "ext.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."))
    }

    // D12: a CNAME owns its name, so any type (SRV too, unlike CoreDNS) gets the CNAME.
    @Test func d12_anyTypeGetsCNAME() async throws {
        try await w.check(Case("ext.testns.svc.cluster.local.", .srv, answer: "ext.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."))
    }

    // D12: an in-zone target is chased.
    @Test func d12_inZoneChase() async throws {
        try await w.check(Case("extin.testns.svc.cluster.local.", .a, answer: """
            extin.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.
            svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1
            """))
        // Target without the type: CNAME + NODATA (RFC), not an empty answer.
        try await w.check(Case("extin.testns.svc.cluster.local.", .aaaa,
            answer: "extin.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.", authority: SpecWorld.soa))
    }

    // D12 / RFC 6604: a missing in-zone target → CNAME + NXDOMAIN.
    @Test func d12_missingTarget_isNXDomainWithCNAME() async throws {
        try await w.check(Case("extmissing.testns.svc.cluster.local.", .a, rcode: .nxDomain,
            answer: "extmissing.testns.svc.cluster.local. 5 IN CNAME nope.testns.svc.cluster.local.", authority: SpecWorld.soa))
    }

    // D12: loops end.
    @Test func d12_loopsEnd() async throws {
        try await w.check(Case("extloop1.testns.svc.cluster.local.", .a, answer: """
            extloop1.testns.svc.cluster.local. 5 IN CNAME extloop2.testns.svc.cluster.local.
            extloop2.testns.svc.cluster.local. 5 IN CNAME extloop1.testns.svc.cluster.local.
            """))
    }

    // D12: names below an ExternalName, and IP-shaped externalNames, do not exist.
    @Test func d12_belowAndIPShaped() async throws {
        try await w.check(Case("x.ext.testns.svc.cluster.local.", .a, rcode: .nxDomain))
        try await w.check(Case("_p._tcp.ext.testns.svc.cluster.local.", .srv, rcode: .nxDomain))
        try await w.check(Case("extip.testns.svc.cluster.local.", .a, rcode: .nxDomain))
    }
}
