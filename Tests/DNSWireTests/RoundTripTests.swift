import DNSWire
import Testing
import TestSupport

/// Encode → decode is the identity, for every record type we know and for unknown ones (RFC
/// 3597, private-use types that libldns also prints as TYPEnnn), with compression; libldns reads the same message the same way.
@Suite struct RoundTripTests {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func name(_ r: inout Rng) -> DNSName {
        let pool = ["svc", "Cluster", "local", "a", "b-c", "x.y", "NS", "_http", "_tcp", "\u{00}z"]
        let labels = (0..<(1 + r.int(5))).map { _ in pool[r.int(pool.count)] }
        return try! DNSName(labels: labels, suffix: r.int(2) == 0 ? .root : DNSName(parsing: "cluster.local."))
    }

    static func record(_ r: inout Rng) -> ResourceRecord {
        let owner = name(&r)
        let ttl = UInt32(r.int(100_000))
        switch r.int(9) {
        case 0: return ResourceRecord(name: owner, ttl: ttl, rdata: .a(IPAddress(bytes: (0..<4).map { _ in UInt8(r.int(256)) })!))
        case 1: return ResourceRecord(name: owner, ttl: ttl, rdata: .aaaa(IPAddress(bytes: (0..<16).map { _ in UInt8(r.int(256)) })!))
        case 2: return ResourceRecord(name: owner, ttl: ttl, rdata: .cname(name(&r)))
        case 3: return ResourceRecord(name: owner, ttl: ttl, rdata: .ptr(name(&r)))
        case 4: return ResourceRecord(name: owner, ttl: ttl, rdata: .ns(name(&r)))
        case 5: return ResourceRecord(name: owner, ttl: ttl, rdata: .srv(.init(priority: UInt16(r.int(65536)), weight: 50, port: 443, target: name(&r))))
        case 6: return ResourceRecord(name: owner, ttl: ttl, rdata: .txt((0..<(1 + r.int(3))).map { _ in (0..<r.int(40)).map { _ in UInt8(r.int(256)) } }))
        case 7: return ResourceRecord(name: owner, ttl: ttl, rdata: .soa(.init(mname: name(&r), rname: name(&r), serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5)))
        default: return ResourceRecord(name: owner, type: RecordType(UInt16(65280 + r.int(100))), ttl: ttl, rdata: .opaque((0..<r.int(30)).map { _ in UInt8(r.int(256)) }))
        }
    }

    @Test(arguments: 0..<200)
    func randomMessagesRoundTrip(seed: Int) throws {
        var r = Rng(state: UInt64(seed) &+ 0x9E37_79B9)
        var h = Header()
        h.id = UInt16(r.int(65536))
        h.isResponse = true
        h.authoritative = r.int(2) == 0
        h.recursionDesired = r.int(2) == 0
        h.rcodeLow = UInt8(r.int(6))
        let m = Message(
            header: h,
            questions: [Question(name: Self.name(&r), type: [.a, .ns, .cname, .soa, .ptr, .txt, .aaaa, .srv, .any, RecordType(65300)][r.int(10)])],
            answers: (0..<r.int(6)).map { _ in Self.record(&r) },
            authority: (0..<r.int(3)).map { _ in Self.record(&r) },
            additional: (0..<r.int(4)).map { _ in Self.record(&r) },
            edns: r.int(2) == 0 ? EDNS(udpPayloadSize: 1232, dnssecOK: r.int(2) == 0) : nil)
        let bytes = m.encoded()
        var decoded = try LDNSCheck.decodeBoth(bytes)
        decoded.header.qdCount = m.header.qdCount
        decoded.header.anCount = m.header.anCount
        decoded.header.nsCount = m.header.nsCount
        decoded.header.arCount = m.header.arCount
        // Equal as DNS sees it. Compression matches suffixes without regard to case, so a later
        // name may take an earlier name's case: that is how owners echo the question (D14).
        #expect(decoded == m)
        #expect(decoded.questions[0].name.wire == m.questions[0].name.wire)
    }

    /// The writer compresses: repeated suffixes become pointers.
    @Test func compressionShrinks() throws {
        let owner = try DNSName(parsing: "svc1.testns.svc.cluster.local.")
        let rrs = (1...5).map { ResourceRecord(name: owner, ttl: 5, rdata: .a(IPAddress("10.0.0.\($0)")!)) }
        let m = Message(questions: [Question(name: owner, type: .a)], answers: rrs)
        // 12 header + 35 question + 5 × (2 pointer + 10 fixed + 4 rdata).
        #expect(m.encoded().count == 12 + 35 + 5 * 16)
    }

    /// Truncation happens at RRset boundaries only, and the OPT space is kept.
    @Test func truncationKeepsWholeSets() throws {
        let owner = try DNSName(parsing: "big.testns.svc.cluster.local.")
        let set = (0..<100).map { ResourceRecord(name: owner, ttl: 5, rdata: .a(IPAddress("10.0.\($0 / 256).\($0 % 256)")!)) }
        var w = MessageWriter(limit: 512, header: Header())
        w.appendQuestion(Question(name: owner, type: .a))
        let edns = EDNS(udpPayloadSize: 1232)
        w.reserve(edns.wireSize)
        let first = w.append(Array(set.prefix(10)), to: .answer)
        let second = w.append(set, to: .answer)
        #expect(first)
        #expect(!second)
        let bytes = w.finish(edns: edns)
        #expect(bytes.count <= 512)
        let m = try LDNSCheck.decodeBoth(bytes)
        #expect(m.answers.count == 10)
        #expect(m.edns != nil)
    }
}
