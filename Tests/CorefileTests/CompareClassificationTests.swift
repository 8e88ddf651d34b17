import ClusterDNSApp
import DNSResponder
import DNSWire
import Foundation
import RecordIndex
import Testing
import TestSupport

/// How `compare` judges two answers: sets, not order; TTLs apart from records; the SOA serial is
/// each server's own; CoreDNS's documented deviations are known, everything else is not.
@Suite struct CompareClassificationTests {
    static let snapshot = try! OfflineTools.load(directory: ServerProcess.repositoryRoot + "/zones", options: IndexOptions()).1

    func message(_ rcode: ResponseCode, answers: String = "", authority: String = "") throws -> Message {
        var h = Header()
        h.isResponse = true
        h.authoritative = true
        h.rcodeLow = UInt8(rcode.rawValue & 0xf)
        var m = Message(header: h, questions: [])
        m.answers = try LDNSCheck.records(answers)
        m.authority = try LDNSCheck.records(authority)
        return m
    }

    func diff(_ q: String, _ type: RecordType, _ e: Message, _ a: Message) -> [Comparison.Difference] {
        Comparison.compare(Question(name: DNSName(q)!, type: type), expected: e, actual: a, snapshot: Self.snapshot, compareRA: false)
    }

    @Test func answersAreSetsAndTTLsApart() throws {
        let e = try message(.noError, answers: "web.shop.svc.cluster.local. 5 IN A 10.0.0.1\nweb.shop.svc.cluster.local. 5 IN A 10.0.0.2")
        let rotated = try message(.noError, answers: "WEB.shop.svc.cluster.local. 5 IN A 10.0.0.2\nweb.shop.svc.cluster.local. 5 IN A 10.0.0.1")
        #expect(diff("web.shop.svc.cluster.local", .a, e, rotated).isEmpty, "loadbalance order and 0x20 case are not differences")
        let ttl = try message(.noError, answers: "web.shop.svc.cluster.local. 30 IN A 10.0.0.1\nweb.shop.svc.cluster.local. 30 IN A 10.0.0.2")
        #expect(diff("web.shop.svc.cluster.local", .a, e, ttl).map(\.kind) == [.ttl])
        let other = try message(.noError, answers: "web.shop.svc.cluster.local. 5 IN A 10.0.0.1")
        #expect(diff("web.shop.svc.cluster.local", .a, e, other).map(\.kind) == [.answer])
    }

    @Test func soaSerialIsEachServersOwn() throws {
        let e = try message(.nxDomain, authority: "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 100 7200 1800 86400 5")
        let a = try message(.nxDomain, authority: "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 999 7200 1800 86400 5")
        #expect(diff("nope.shop.svc.cluster.local", .a, e, a).isEmpty)
        let min = try message(.nxDomain, authority: "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 999 7200 1800 86400 30")
        #expect(diff("nope.shop.svc.cluster.local", .a, e, min).map(\.kind) == [.authority])
    }

    /// `ns.dns.<zone>` names the server answering: its own address (CoreDNS: the pod's IP), so two
    /// servers differ there by design, in the answer and, where one has no IPv6, in NODATA.
    @Test func eachServersOwnNameserverAddress() throws {
        let e = try message(.noError, answers: "ns.dns.cluster.local. 5 IN A 10.244.0.5")
        let a = try message(.noError, answers: "ns.dns.cluster.local. 5 IN A 10.244.1.9")
        #expect(diff("ns.dns.cluster.local", .a, e, a).allSatisfy { $0.known != nil })
        #expect(!diff("ns.dns.cluster.local", .a, e, a).isEmpty)
        let soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
        let six = try message(.noError, answers: "ns.dns.cluster.local. 5 IN AAAA fd00::5"), none = try message(.noError, authority: soa)
        #expect(diff("ns.dns.cluster.local", .aaaa, six, none).allSatisfy { $0.known != nil })
        let other = try message(.noError, answers: "web.shop.svc.cluster.local. 5 IN A 10.0.0.1")
        #expect(diff("web.shop.svc.cluster.local", .a, other, e).first?.known == nil, "only the nameserver's own name")
    }

    /// coredns-kubernetes.md §4, 14: CoreDNS says NXDOMAIN for TXT at the apex; clusterdns NODATA.
    @Test func coreDNSDeviationsAreKnown() throws {
        let soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
        let nodata = try message(.noError, authority: soa), nx = try message(.nxDomain, authority: soa)
        let apex = diff("cluster.local", .txt, nodata, nx)
        #expect(apex.map(\.kind) == [.rcode] && apex[0].known != nil)
        let ent = diff("_http._tcp.web.shop.svc.cluster.local", .txt, nodata, nx)
        #expect(ent.first?.known != nil, "an empty non-terminal under _port._proto (§4, 17)")
        let missing = diff("web.shop.svc.cluster.local", .a, try message(.noError, answers: "web.shop.svc.cluster.local. 5 IN A 10.96.10.20"), nx)
        #expect(missing.first?.known == nil, "a Service that answers here and not there is a real difference")
        let absent = diff("nothere.shop.svc.cluster.local", .txt, nodata, nx)
        #expect(absent.first?.known == nil, "NODATA is known only where the name exists")
    }

    /// The questions cover the negative space: the search-path expansions of each Service name,
    /// a missing sibling and endpoint, a wrong port name, an unknown address.
    @Test func questionsIncludeTheNegativeSpace() {
        let qs = Set(Comparison.questions(Self.snapshot).map { "\($0.name) \($0.type)" })
        #expect(qs.contains("web.shop.svc.cluster.local. A"))
        #expect(qs.contains("web.shop.svc.cluster.local.shop.svc.cluster.local. A"))
        #expect(qs.contains("web.shop.svc.cluster.local.svc.cluster.local. A"))
        #expect(qs.contains("web.shop.svc.cluster.local.cluster.local. A"))
        #expect(qs.contains("no-such-service.shop.svc.cluster.local. A"))
        #expect(qs.contains("no-such-endpoint.web.shop.svc.cluster.local. A"))
        #expect(qs.contains("_no-such-port._tcp.web.shop.svc.cluster.local. SRV"))
        #expect(qs.contains("web.shop.svc.cluster.local. TXT"))
        #expect(qs.contains { $0.hasSuffix(".in-addr.arpa. PTR") && $0.hasPrefix("254.") })
    }
}
