import DNSWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// IPv4 text is parsed without the C library on the index's hot path; it must accept exactly
/// what inet_pton accepts (four decimal parts 0–255, no leading zeros, nothing else) and give
/// the same bytes.
@Suite struct IPAddressTests {
    static func libc(_ text: String) -> [UInt8]? {
        var raw = in_addr()
        guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
        return withUnsafeBytes(of: &raw) { Array($0) }
    }

    @Test func dottedQuadsAgreeWithInetPton() {
        var cases = ["0.0.0.0", "255.255.255.255", "10.96.0.10", "1.2.3.4", "01.2.3.4", "1.2.3.04", "256.1.1.1",
                     "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "", "a.b.c.d", "1.2.3.4 ", " 1.2.3.4",
                     "1.2.3.-4", "+1.2.3.4", "1.2.3.4/24", "999.0.0.0", "00.0.0.0", "0.0.0.00", "1.2.3.٤"]
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789.x")
        for _ in 0..<20_000 {
            cases.append(String((0..<Int.random(in: 0...16, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
        }
        for text in cases {
            #expect(IPAddress(text)?.bytes == Self.libc(text), "\(text)")
        }
    }

    /// Found by the query fuzzer (Fuzz/regressions/query/pod-label-with-nul-and-at): the C
    /// library reads a Swift string only up to its first NUL, so `0::4\0@` parsed as `::4` and a
    /// pod label `0--4\0@\022` answered AAAA ::4. Text with a NUL is no address.
    @Test func textWithANulIsNoAddress() {
        #expect(IPAddress("0::4\0@") == nil)
        #expect(IPAddress("10.0.0.1\0") == nil)
        #expect(IPAddress("2001:db8::1\0junk") == nil)
        #expect(IPAddress("0::4") == IPAddress("::4"))
    }

    @Test func reverseNames() {
        #expect(IPAddress("10.96.0.10")!.reverseName.description == "10.0.96.10.in-addr.arpa.")
        #expect(IPAddress("192.168.100.1")!.reverseName.description == "1.100.168.192.in-addr.arpa.")
        #expect(IPAddress("2001:db8::1")!.reverseName.description
                == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.")
    }
}
