import DNSWire

/// Target `wire`: any bytes → `Message(decoding:)` gives a message or a `WireError`, never a
/// trap. A decoded message keeps the promises of RoundTripTests: its counts are its sections,
/// it encodes and decodes back to an equal value (when it fits in 65535 bytes once its names are
/// written out, the only size `encoded()` allows), that encoding is a fixed point, and every name
/// prints as presentation text that parses back to the same bytes.
public enum WireCheck {
    public static func check(_ bytes: [UInt8]) throws {
        let m: Message
        do {
            m = try Message(decoding: bytes)
        } catch let e as WireError {
            try require(e.offset >= 0 && e.offset <= bytes.count, "error offset outside the \(bytes.count)-byte message: \(e)")
            _ = e.description
            return
        } catch {
            throw CheckFailure("decoding threw \(type(of: error)), not a WireError: \(error)")
        }

        let h = m.header
        try require(Int(h.qdCount) == m.questions.count && Int(h.anCount) == m.answers.count && Int(h.nsCount) == m.authority.count
                    && Int(h.arCount) == m.additional.count + (m.edns == nil ? 0 : 1),
                    "counts \(h.qdCount)/\(h.anCount)/\(h.nsCount)/\(h.arCount) vs sections \(m.questions.count)/\(m.answers.count)/\(m.authority.count)/\(m.additional.count)+\(m.edns == nil ? 0 : 1)")

        for name in names(m) {
            try require(name.wire.count <= 255 && name.wire.last == 0, "decoded name \(name.wire) is not a valid wire name")
            let text = name.description
            guard let back = try? DNSName(parsing: text) else { throw CheckFailure("\(name.wire) prints as \"\(text)\", which does not parse") }
            try require(back.wire == name.wire, "\(name.wire) prints as \"\(text)\", which parses as \(back.wire)")
        }
        for rr in m.answers + m.authority + m.additional { _ = rr.description }

        let bound = uncompressedSize(m)
        guard bound <= 65535 else { return }
        let encoded = m.encoded()
        try require(encoded.count <= bound, "encoding is \(encoded.count) bytes, more than the \(bound) of the names written out")
        let again: Message
        do {
            again = try Message(decoding: encoded)
        } catch {
            throw CheckFailure("our own encoding does not decode: \(error); encoding \(encoded)")
        }
        try require(again == m, "encode → decode changed the message:\n  \(m)\n  \(again)")
        let twice = again.encoded()
        try require(twice == encoded, "encoding is not a fixed point:\n  \(encoded)\n  \(twice)")
    }

    /// Every name the decoder produced: questions, owners and the names inside known RDATA.
    static func names(_ m: Message) -> [DNSName] {
        m.questions.map(\.name) + (m.answers + m.authority + m.additional).flatMap(names(of:))
    }

    /// A record's owner and the names in its RDATA.
    static func names(of rr: ResourceRecord) -> [DNSName] {
        switch rr.rdata {
        case .ns(let n), .cname(let n), .ptr(let n): return [rr.name, n]
        case .soa(let s): return [rr.name, s.mname, s.rname]
        case .srv(let s): return [rr.name, s.target]
        case .a, .aaaa, .txt, .opaque: return [rr.name]
        }
    }

    /// The size of `m` written without compression: an upper bound on `encoded()`.
    static func uncompressedSize(_ m: Message) -> Int {
        var n = Header.size + m.questions.reduce(0) { $0 + $1.name.wire.count + 4 }
        for rr in m.answers + m.authority + m.additional {
            n += rr.name.wire.count + 10
            switch rr.rdata {
            case .a: n += 4
            case .aaaa: n += 16
            case .ns(let x), .cname(let x), .ptr(let x): n += x.wire.count
            case .soa(let s): n += s.mname.wire.count + s.rname.wire.count + 20
            case .srv(let s): n += 6 + s.target.wire.count
            case .txt(let strings): n += strings.reduce(0) { $0 + 1 + $1.count }
            case .opaque(let d): n += d.count
            }
        }
        return n + (m.edns?.wireSize ?? 0)
    }
}
