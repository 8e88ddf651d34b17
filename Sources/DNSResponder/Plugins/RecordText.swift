import DNSWire

/// One resource record in master-file text (RFC 1035 §5.1), as the template plugin writes them
/// and miekg/dns's `NewRR` reads them: `OWNER [TTL] [CLASS] TYPE RDATA`, TTL and class in
/// either order (TTL 3600 and class IN when left out), parentheses and `;` comments allowed,
/// names absolute (relative ones are taken relative to the root, as NewRR does). Types: A,
/// AAAA, CNAME, NS, PTR, TXT, SRV, MX, SOA.
public enum RecordText {
    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
        /// A value that is wrong (an address, a number, a name) rather than the record's shape
        /// (its type, its number of fields): templates are checked for shape when they load.
        public var isValue = false
    }

    public static let supportedTypes = "A, AAAA, CNAME, NS, PTR, TXT, SRV, MX, SOA"

    public static func parse(_ text: String) throws -> ResourceRecord {
        var tokens = try tokenize(text)
        func fail(_ why: String) -> ParseError { ParseError(description: "\(why) in \"\(text)\"") }
        guard !tokens.isEmpty else { throw fail("no record") }
        let owner = try name(tokens.removeFirst().text, text)
        var ttl: UInt32 = 3600
        var recordClass = RecordClass.in
        var type: RecordType?
        while type == nil, !tokens.isEmpty {
            let t = tokens.removeFirst().text
            if let n = UInt32(t) {
                ttl = n
            } else if let c = Self.recordClass(t) {
                recordClass = c
            } else if let rt = RecordType(mnemonic: t) {
                type = rt
            } else {
                throw fail("unknown type \"\(t)\"")
            }
        }
        guard let type else { throw fail("no type") }
        let fields = tokens.map(\.text)
        func need(_ n: Int) throws {
            guard fields.count == n else { throw fail("\(type) needs \(n) fields, got \(fields.count)") }
        }
        func number<T: FixedWidthInteger>(_ s: String, _: T.Type) throws -> T {
            guard let v = T(s) else { var e = fail("\"\(s)\" is not a number"); e.isValue = true; throw e }
            return v
        }
        let rdata: RData
        switch type {
        case .a, .aaaa:
            try need(1)
            guard let ip = IPAddress(fields[0]), ip.isIPv4 == (type == .a) else {
                var e = fail("\"\(fields[0])\" is not an \(type) address")
                e.isValue = true
                throw e
            }
            rdata = type == .a ? .a(ip) : .aaaa(ip)
        case .cname: try need(1); rdata = .cname(try name(fields[0], text))
        case .ns: try need(1); rdata = .ns(try name(fields[0], text))
        case .ptr: try need(1); rdata = .ptr(try name(fields[0], text))
        case .txt:
            guard !tokens.isEmpty else { throw fail("TXT needs a string") }
            rdata = .txt(try tokens.map { t in
                let bytes = t.bytes
                guard bytes.count <= 255 else { throw fail("a TXT string over 255 bytes") }
                return bytes
            })
        case .srv:
            try need(4)
            rdata = .srv(RData.SRV(priority: try number(fields[0], UInt16.self), weight: try number(fields[1], UInt16.self),
                                  port: try number(fields[2], UInt16.self), target: try name(fields[3], text)))
        case .mx:
            try need(2)
            let pref = try number(fields[0], UInt16.self)
            rdata = .opaque([UInt8(pref >> 8), UInt8(pref & 0xFF)] + (try name(fields[1], text)).wire)
        case .soa:
            try need(7)
            rdata = .soa(RData.SOA(mname: try name(fields[0], text), rname: try name(fields[1], text),
                                  serial: try number(fields[2], UInt32.self), refresh: try number(fields[3], UInt32.self),
                                  retry: try number(fields[4], UInt32.self), expire: try number(fields[5], UInt32.self),
                                  minimum: try number(fields[6], UInt32.self)))
        default:
            throw fail("type \(type) is not supported (supported: \(supportedTypes))")
        }
        return ResourceRecord(name: owner, type: type, recordClass: recordClass, ttl: ttl, rdata: rdata)
    }

    static func recordClass(_ t: String) -> RecordClass? {
        switch t.uppercased() {
        case "IN": return .in
        case "CH", "CHAOS": return .chaos
        case "HS": return .hesiod
        case "ANY": return .any
        default: return nil
        }
    }

    static func name(_ s: String, _ text: String) throws -> DNSName {
        do {
            return try DNSName(parsing: s)
        } catch {
            throw ParseError(description: "\"\(s)\" is not a domain name in \"\(text)\"", isValue: true)
        }
    }

    struct Token {
        var text: String
        /// The bytes of a character-string (quotes removed, escapes applied).
        var bytes: [UInt8]
    }

    /// Whitespace-separated fields; quoted strings are one field; parentheses are dropped
    /// (they only let a record span lines); `;` starts a comment.
    static func tokenize(_ text: String) throws -> [Token] {
        let c = Array(text.utf8)
        var out: [Token] = []
        var i = 0
        while i < c.count {
            let b = c[i]
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x28 || b == 0x29 { i += 1; continue }
            if b == 0x3B { break }
            var bytes: [UInt8] = []
            var raw: [UInt8] = []
            let quoted = b == 0x22
            if quoted { i += 1 }
            while i < c.count {
                let x = c[i]
                if quoted ? x == 0x22 : (x == 0x20 || x == 0x09 || x == 0x0A || x == 0x0D || x == 0x28 || x == 0x29 || x == 0x3B) { break }
                raw.append(x)
                if x == 0x5C, i + 1 < c.count {
                    raw.append(c[i + 1])
                    let d = c[i + 1]
                    if d >= 0x30 && d <= 0x39, i + 3 < c.count {
                        let v = c[(i + 1)...(i + 3)].reduce(0) { $0 * 10 + Int($1) - 0x30 }
                        raw.append(contentsOf: c[(i + 2)...(i + 3)])
                        bytes.append(UInt8(truncatingIfNeeded: v))
                        i += 4
                    } else {
                        bytes.append(d)
                        i += 2
                    }
                    continue
                }
                bytes.append(x)
                i += 1
            }
            if quoted {
                guard i < c.count else { throw ParseError(description: "unterminated quote in \"\(text)\"") }
                i += 1
            }
            out.append(Token(text: String(decoding: raw, as: UTF8.self), bytes: bytes))
        }
        return out
    }
}
