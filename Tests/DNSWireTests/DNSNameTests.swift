import DNSWire
import Testing

/// RFC 1035 §2.3.4 limits, §5.1 escapes; RFC 4343 case rules.
@Suite struct DNSNameTests {
    @Test func presentationRoundTrip() throws {
        for text in ["example.com.", "a\\.b.example.", "\\000\\255x.test.", "with\\\\slash.test.", "."] {
            let name = try DNSName(parsing: text)
            #expect(name.description == text)
            #expect(try DNSName(parsing: name.description) == name)
        }
    }

    @Test func escapesAreBytes() throws {
        let name = try DNSName(parsing: "a\\.b.c.")
        #expect(name.labelCount == 2)
        #expect(Array(name.firstLabel) == Array("a.b".utf8))
        #expect(try DNSName(parsing: "\\065.test.") == DNSName(parsing: "a.test."))
    }

    @Test func limits() {
        #expect(throws: WireError.self) { try DNSName(parsing: String(repeating: "a", count: 64) + ".") }
        #expect((try? DNSName(parsing: String(repeating: "a", count: 63) + ".")) != nil)
        // 4 × 63-byte labels = 256 octets with lengths and root: one too many.
        let long = Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".") + "."
        #expect(throws: WireError.self) { try DNSName(parsing: long) }
        #expect(throws: WireError.self) { try DNSName(parsing: "a..b.") }
        #expect(throws: WireError.self) { try DNSName(parsing: "\\99") }
        #expect(throws: WireError.self) { try DNSName(parsing: "\\256.x.") }
    }

    @Test func caseInsensitiveButPreserved() throws {
        let upper = try DNSName(parsing: "SVC1.TestNS.svc.cluster.local.")
        let lower = try DNSName(parsing: "svc1.testns.svc.cluster.local.")
        #expect(upper == lower)
        #expect(upper.hashValue == lower.hashValue)
        #expect(upper.description == "SVC1.TestNS.svc.cluster.local.")
        #expect(upper.isSubdomain(of: try DNSName(parsing: "Cluster.Local.")))
        #expect(upper.labelsAbove(try DNSName(parsing: "cluster.local.")) == 3)
        #expect(!upper.isSubdomain(of: try DNSName(parsing: "local.cluster.")))
        #expect(!(try DNSName(parsing: "xcluster.local.")).isSubdomain(of: try DNSName(parsing: "cluster.local.")))
    }

    @Test func reverseNames() {
        #expect(IPAddress("10.0.0.1")!.reverseName.description == "1.0.0.10.in-addr.arpa.")
        #expect(IPAddress("2001:db8::1")!.reverseName.description == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.")
        #expect(IPAddress("2001:0DB8:0::1")!.description == "2001:db8::1")
        #expect(IPAddress("010.0.0.1") == nil)
        #expect(IPAddress("1.2.3") == nil)
    }
}
