import DNSWire
import RecordIndex
import Testing

/// The reverse zones keep PTRs as who asks for each address (`PTRTable`), found from the
/// question's name by `PTRTable.Key(reverseName:)`: it must read back exactly the names
/// `IPAddress.reverseName` writes, and no other.
@Suite struct PTRTableTests {
    @Test func keyReadsBackEveryReverseName() throws {
        let texts = ["0.0.0.0", "10.0.0.1", "255.255.255.255", "10.128.7.99", "::", "::1", "fd00::1234:5678",
                     "2001:db8:ffff:0:1:2:abcd:ef01", "::ffff:10.0.0.1"]
        for text in texts {
            let ip = try #require(IPAddress(text))
            let key = try #require(PTRTable.Key(reverseName: ip.reverseName), "\(text)")
            #expect(key == PTRTable.Key(ip))
            #expect(key.address == ip, "\(text)")
            // Case does not matter (S3).
            let upper = try #require(DNSName(ip.reverseName.description.uppercased()))
            #expect(PTRTable.Key(reverseName: upper) == key)
        }
        // An IPv4 address and its IPv4-mapped IPv6 form are different names.
        #expect(PTRTable.Key(IPAddress("10.0.0.1")!) != PTRTable.Key(IPAddress("::ffff:10.0.0.1")!))
    }

    @Test func otherNamesAreNoAddress() {
        let names = ["in-addr.arpa.", "0.10.in-addr.arpa.", "1.0.0.10.in-addr.arpa.example.", "01.0.0.10.in-addr.arpa.",
                     "1.0.0.256.in-addr.arpa.", "1.0.0.1000.in-addr.arpa.", "a.0.0.10.in-addr.arpa.", "1.1.0.0.10.in-addr.arpa.",
                     "1.0.0.10.ip6.arpa.", "-1.0.0.10.in-addr.arpa.",
                     String(repeating: "0.", count: 31) + "ip6.arpa.", String(repeating: "0.", count: 33) + "ip6.arpa.",
                     String(repeating: "0.", count: 31) + "g.ip6.arpa.", String(repeating: "00.", count: 32) + "ip6.arpa.",
                     String(repeating: "0.", count: 32) + "in-addr.arpa."]
        for text in names {
            guard let name = DNSName(text) else { continue }
            #expect(PTRTable.Key(reverseName: name) == nil, "\(text)")
        }
    }
}
