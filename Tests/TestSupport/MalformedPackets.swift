import DNSWire

/// The bad-input table of reliability.md §2.1–2.4: raw bytes and the exact outcome. Run
/// in-process (ResponderTests) and over UDP and TCP against the real server (EndToEndTests).
public enum MalformedPackets {
    public enum Outcome: Equatable, Sendable, CustomStringConvertible {
        case drop
        case rcode(ResponseCode)
        public var description: String {
            switch self {
            case .drop: return "drop"
            case .rcode(let r): return "\(r)"
            }
        }
    }

    public struct Row: Sendable, CustomStringConvertible {
        public var name: String
        public var bytes: [UInt8]
        public var outcome: Outcome
        public var description: String { name }
    }

    static func header(flags1: UInt8 = 0x01, flags2: UInt8 = 0, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
        [0xAB, 0xCD, flags1, flags2] + [qd, an, ns, ar].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    static func wire(_ name: String) -> [UInt8] { try! DNSName(parsing: name).wire }

    static let svc = wire("svc1.testns.svc.cluster.local.")
    static let a: [UInt8] = [0, 1, 0, 1]

    static func question(_ name: [UInt8] = svc, type: UInt16 = 1, cls: UInt16 = 1) -> [UInt8] {
        name + [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(cls >> 8), UInt8(cls & 0xFF)]
    }

    /// An OPT record: payload size, version, DO, options.
    static func opt(size: UInt16 = 1232, version: UInt8 = 0, flags: UInt16 = 0, owner: [UInt8] = [0], options: [UInt8] = []) -> [UInt8] {
        owner + [0, 41, UInt8(size >> 8), UInt8(size & 0xFF), 0, version, UInt8(flags >> 8), UInt8(flags & 0xFF),
                 UInt8(options.count >> 8), UInt8(options.count & 0xFF)] + options
    }

    static let goodQuery = header() + question()

    public static let rows: [Row] = {
        var r: [Row] = []
        func row(_ n: String, _ b: [UInt8], _ o: Outcome) { r.append(Row(name: n, bytes: b, outcome: o)) }
        // §2.1 header and sections
        row("empty datagram", [], .drop)
        row("11 bytes", Array(goodQuery.prefix(11)), .drop)
        row("QR=1 response", header(flags1: 0x81) + question(), .drop)
        row("QR=1 with garbage", header(flags1: 0x80) + [0xFF, 0xFF], .drop)
        row("opcode IQUERY", header(flags1: 0x09) + question(), .rcode(.notImp))
        row("opcode STATUS", header(flags1: 0x11) + question(), .rcode(.notImp))
        row("opcode NOTIFY", header(flags1: 0x21) + question(), .rcode(.notImp))
        row("opcode UPDATE", header(flags1: 0x29) + question(), .rcode(.notImp))
        row("opcode 15", header(flags1: 0x79) + question(), .rcode(.notImp))
        row("QDCOUNT 0", header(qd: 0), .rcode(.formErr))
        row("QDCOUNT 2", header(qd: 2) + question() + question(), .rcode(.formErr))
        row("QDCOUNT 1, no question bytes", header(), .rcode(.formErr))
        row("counts beyond the bytes (ARCOUNT 65535)", header(ar: 65535) + question(), .rcode(.formErr))
        row("ANCOUNT 1, record cut short", header(an: 1) + question() + [0xC0, 0x0C, 0, 1], .rcode(.formErr))
        row("trailing bytes after the question", goodQuery + [0, 0, 0], .rcode(.formErr))
        row("TC=1 in a query is ignored", header(flags1: 0x03) + question(), .rcode(.noError))
        row("RCODE in a query is ignored", header(flags2: 0x05) + question(), .rcode(.noError))
        row("Z bit set", header(flags2: 0x40) + question(), .rcode(.noError))
        row("AD=1", header(flags2: 0x20) + question(), .rcode(.noError))
        row("CD=1", header(flags2: 0x10) + question(), .rcode(.noError))
        row("an answer record in a query is ignored", header(an: 1) + question() + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4], .rcode(.noError))
        // §2.2 names
        row("question cut mid-label", header() + Array(svc.prefix(7)), .rcode(.formErr))
        row("name without terminator", header() + Array(svc.dropLast()), .rcode(.formErr))
        row("missing QTYPE and QCLASS", header() + svc, .rcode(.formErr))
        row("missing half of QCLASS", header() + svc + [0, 1, 0], .rcode(.formErr))
        row("label type 0b01", header() + [0x41] + Array(repeating: 0x61, count: 65) + [0] + a, .rcode(.formErr))
        row("label type 0b10", header() + [0x81, 0x61, 0] + a, .rcode(.formErr))
        row("pointer to itself", header() + [0xC0, 0x0C] + a, .rcode(.formErr))
        row("pointer into the header", header() + [0xC0, 0x02] + a, .rcode(.formErr))
        row("pointer forward", header() + [0xC0, 0x20] + a + Array(repeating: 0, count: 20), .rcode(.formErr))
        row("pointer past the end", header() + [0xFF, 0xFF] + a, .rcode(.formErr))
        // Found by the query fuzzer (Fuzz/regressions/query): it crashed the server.
        row("pointer into the name's own label", header() + [0x03, 0x05, 0x61, 0x61, 0xC0, 0x0D, 0x62, 0x00, 0x00, 0x01], .rcode(.formErr))
        row("name over 255 octets", header() + Array(repeating: [UInt8(63)] + Array(repeating: 0x61, count: 63), count: 4).flatMap { $0 } + [0] + a, .rcode(.formErr))
        row("pointer loop A→B→A in additional", header(ar: 1) + question() + [0xC0, 0x2E, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0] + [0xC0, 0x2D], .rcode(.formErr))
        row("127 one-letter labels under the zone", header() + question(Array(repeating: [UInt8(1), 0x61], count: 113).flatMap { $0 } + svc.suffix(15)), .rcode(.nxDomain))
        row("binary and dot bytes inside a label", header() + question([3, 0x00, 0x2E, 0xFF] + wire("testns.svc.cluster.local.")), .rcode(.nxDomain))
        row("the root name", header() + question([0]), .rcode(.refused))
        // §2.3 types and classes
        row("unknown QTYPE 1000 at an existing name", header() + question(type: 1000), .rcode(.noError))
        row("QTYPE OPT", header() + question(type: 41), .rcode(.formErr))
        row("QTYPE AXFR", header() + question(type: 252), .rcode(.refused))
        row("QTYPE IXFR", header() + question(type: 251), .rcode(.refused))
        row("QTYPE MAILA", header() + question(type: 253), .rcode(.notImp))
        row("QTYPE TKEY", header() + question(type: 249), .rcode(.notImp))
        row("QTYPE ANY", header() + question(type: 255), .rcode(.noError))
        row("QCLASS CH", header() + question(cls: 3), .rcode(.refused))
        row("QCLASS HS", header() + question(cls: 4), .rcode(.refused))
        row("QCLASS NONE", header() + question(cls: 254), .rcode(.refused))
        row("QCLASS ANY", header() + question(cls: 255), .rcode(.refused))
        // §2.4 EDNS
        row("two OPT records", header(ar: 2) + question() + opt() + opt(), .rcode(.formErr))
        row("OPT in the answer section", header(an: 1) + question() + opt(), .rcode(.formErr))
        row("OPT in the authority section", header(ns: 1) + question() + opt(), .rcode(.formErr))
        row("OPT owner not root", header(ar: 1) + question() + opt(owner: [1, 0x61, 0]), .rcode(.formErr))
        row("option length past RDATA", header(ar: 1) + question() + opt(options: [0, 100, 0, 9, 1, 2]), .rcode(.formErr))
        row("COOKIE of length 5", header(ar: 1) + question() + opt(options: [0, 10, 0, 5, 1, 2, 3, 4, 5]), .rcode(.formErr))
        row("A RDATA of 5 bytes in additional", header(ar: 1) + question() + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 5, 0, 5, 1, 2, 3, 4, 5], .rcode(.formErr))
        row("EDNS version 1", header(ar: 1) + question() + opt(version: 1), .rcode(.badVers))
        row("EDNS version 1 with DO", header(ar: 1) + question() + opt(version: 1, flags: 0x8000), .rcode(.badVers))
        row("unknown EDNS option", header(ar: 1) + question() + opt(options: [0, 100, 0, 2, 7, 7]), .rcode(.noError))
        row("unknown EDNS flag", header(ar: 1) + question() + opt(flags: 0x4000), .rcode(.noError))
        row("UDP payload size under 512", header(ar: 1) + question() + opt(size: 100), .rcode(.noError))
        row("valid COOKIE of 8 bytes", header(ar: 1) + question() + opt(options: [0, 10, 0, 8] + Array(repeating: 1, count: 8)), .rcode(.noError))
        return r
    }()
}
