/// Master-file text for records (RFC 1035 §5.1, RFC 3597 §5 for unknown types), as `dig` and
/// `clusterdns check` print them.
extension ResourceRecord: CustomStringConvertible {
    public var description: String {
        "\(name)\t\(ttl)\t\(recordClass)\t\(type)\t\(rdataText)"
    }

    public var rdataText: String {
        switch rdata {
        case .a(let ip), .aaaa(let ip): return ip.description
        case .ns(let n), .cname(let n), .ptr(let n): return n.description
        case .soa(let s):
            return "\(s.mname) \(s.rname) \(s.serial) \(s.refresh) \(s.retry) \(s.expire) \(s.minimum)"
        case .srv(let s): return "\(s.priority) \(s.weight) \(s.port) \(s.target)"
        case .txt(let strings):
            // No strings at all (RDLENGTH 0, which libldns loads from `TXT \# 0`) has no text
            // form but the generic one; an empty field would not load back (found by the zone-file
            // fuzzer, Fuzz/regressions/zonefile/txt-with-empty-generic-rdata).
            return strings.isEmpty ? "\\# 0" : strings.map(ResourceRecord.quoted).joined(separator: " ")
        case .opaque(let data):
            let hex = data.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            return data.isEmpty ? "\\# 0" : "\\# \(data.count) \(hex)"
        }
    }

    static func quoted(_ s: [UInt8]) -> String {
        var out: [UInt8] = [0x22]
        for b in s {
            switch b {
            case 0x22, 0x5C:
                out.append(0x5C)
                out.append(b)
            case 0x20...0x7E:
                out.append(b)
            default:
                out.append(0x5C)
                out.append(0x30 + b / 100)
                out.append(0x30 + (b / 10) % 10)
                out.append(0x30 + b % 10)
            }
        }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }
}
