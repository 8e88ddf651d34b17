/// Reads a DNS message from bytes that may be hostile. Every read checks bounds first and throws
/// a `WireError` naming the offset; nothing traps, nothing allocates by a count the sender chose.
public struct WireReader {
    public let bytes: [UInt8]
    public var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    @inline(__always)
    func need(_ n: Int) throws {
        if n > bytes.count - offset { throw WireError(.truncated(needed: n - (bytes.count - offset)), at: offset) }
    }

    public mutating func readUInt8() throws -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readUInt16() throws -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    public mutating func readUInt32() throws -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    public mutating func readBytes(_ n: Int) throws -> [UInt8] {
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    /// A name, following compression pointers (RFC 1035 §4.1.4). Pointers must point past the
    /// header and strictly before the labels that lead to them (RFC 9267 §2: a prior occurrence,
    /// never into the name being read), so a name can never loop and the question of a query can
    /// never be compressed: a pointer into the name's own labels, behind a label long enough to
    /// span the pointer, would make its bytes read as a different name. A hop limit bounds the
    /// work; the expanded name may not pass 255 octets.
    public mutating func readName() throws -> DNSName {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var pos = offset
        // Where the labels now being read start: the name itself, then each pointer's target.
        var segmentStart = offset
        var jumped = false
        var hops = 0
        while true {
            guard pos < bytes.count else { throw WireError(.truncated(needed: 1), at: pos) }
            let len = bytes[pos]
            switch len & 0xC0 {
            case 0x00:
                if len == 0 {
                    out.append(0)
                    if !jumped { offset = pos + 1 }
                    guard out.count <= 255 else { throw WireError(.nameTooLong, at: offset) }
                    return DNSName(validatedWire: out)
                }
                let end = pos + 1 + Int(len)
                guard end <= bytes.count else { throw WireError(.truncated(needed: end - bytes.count), at: pos) }
                // +1 for the root byte still to come.
                guard out.count + 1 + Int(len) + 1 <= 255 else { throw WireError(.nameTooLong, at: pos) }
                out.append(contentsOf: bytes[pos..<end])
                pos = end
            case 0xC0:
                guard pos + 1 < bytes.count else { throw WireError(.truncated(needed: 1), at: pos) }
                let target = Int(len & 0x3F) << 8 | Int(bytes[pos + 1])
                guard target >= Header.size else { throw WireError(.pointerIntoHeader(target: target), at: pos) }
                guard target < segmentStart else { throw WireError(.pointerNotBackwards(target: target), at: pos) }
                hops += 1
                guard hops <= 127 else { throw WireError(.tooManyPointers, at: pos) }
                if !jumped { offset = pos + 2 }
                jumped = true
                pos = target
                segmentStart = target
            default:
                throw WireError(.badLabelType(len), at: pos)
            }
        }
    }

    public mutating func readQuestion() throws -> Question {
        let name = try readName()
        let type = try readUInt16()
        let cls = try readUInt16()
        return Question(name: name, type: RecordType(type), recordClass: RecordClass(rawValue: cls))
    }

    /// One RR. OPT comes back as `.opt` for the caller to place; everything else as a record.
    public enum Entry {
        case record(ResourceRecord)
        case opt(EDNS)
    }

    public mutating func readEntry() throws -> Entry {
        let start = offset
        let name = try readName()
        let type = RecordType(try readUInt16())
        let cls = try readUInt16()
        let ttl = try readUInt32()
        let rdlength = Int(try readUInt16())
        try need(rdlength)
        let rdataStart = offset
        let rdataEnd = offset + rdlength
        if type == .opt {
            guard name.isRoot else { throw WireError(.optOwnerNotRoot, at: start) }
            var options: [EDNS.Option] = []
            while offset < rdataEnd {
                guard rdataEnd - offset >= 4 else { throw WireError(.optionOverrun, at: offset) }
                let code = try readUInt16()
                let len = Int(try readUInt16())
                guard len <= rdataEnd - offset else { throw WireError(.optionOverrun, at: offset - 4) }
                if code == EDNS.cookieOption && !EDNS.isValidCookieLength(len) {
                    throw WireError(.badCookieLength(len), at: offset - 4)
                }
                options.append(EDNS.Option(code: code, data: try readBytes(len)))
            }
            let edns = EDNS(
                udpPayloadSize: cls,
                extendedRcodeHigh: UInt8(ttl >> 24),
                version: UInt8((ttl >> 16) & 0xFF),
                dnssecOK: ttl & 0x8000 != 0,
                otherFlags: UInt16(ttl & 0x7FFF),
                options: options)
            return .opt(edns)
        }
        let rdata: RData
        switch type {
        case .a where rdlength == 4:
            rdata = .a(IPAddress(bytes: try readBytes(4))!)
        case .aaaa where rdlength == 16:
            rdata = .aaaa(IPAddress(bytes: try readBytes(16))!)
        case .a, .aaaa:
            throw WireError(.rdataLength(type: type.rawValue, declared: rdlength, consumed: type == .a ? 4 : 16), at: rdataStart)
        case .ns: rdata = .ns(try readName())
        case .cname: rdata = .cname(try readName())
        case .ptr: rdata = .ptr(try readName())
        case .soa:
            rdata = .soa(RData.SOA(
                mname: try readName(), rname: try readName(), serial: try readUInt32(),
                refresh: try readUInt32(), retry: try readUInt32(), expire: try readUInt32(), minimum: try readUInt32()))
        case .srv:
            rdata = .srv(RData.SRV(priority: try readUInt16(), weight: try readUInt16(), port: try readUInt16(), target: try readName()))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < rdataEnd {
                let len = Int(try readUInt8())
                guard len <= rdataEnd - offset else {
                    throw WireError(.rdataLength(type: type.rawValue, declared: rdlength, consumed: offset + len - rdataStart), at: rdataStart)
                }
                strings.append(try readBytes(len))
            }
            rdata = .txt(strings)
        default:
            if let layout = Self.compressibleLayouts[type.rawValue] {
                rdata = .opaque(try readDecompressed(layout, end: rdataEnd))
            } else {
                rdata = .opaque(try readBytes(rdlength))
            }
        }
        guard offset == rdataEnd else {
            throw WireError(.rdataLength(type: type.rawValue, declared: rdlength, consumed: offset - rdataStart), at: rdataStart)
        }
        return .record(ResourceRecord(name: name, type: type, recordClass: RecordClass(rawValue: cls), ttl: ttl, rdata: rdata))
    }

    /// RFC 3597 §4: names in the RDATA of the RFC 1035-era types may be compressed by the sender
    /// (MX above all), so their bytes cannot be copied into another message as they are. These
    /// types are kept opaque with every name written out uncompressed: (fixed bytes before the
    /// names, number of names). RP, AFSDB, RT, KX and PX are listed there as compressed by some.
    static let compressibleLayouts: [UInt16: (prefix: Int, names: Int)] = [
        3: (0, 1), 4: (0, 1), 7: (0, 1), 8: (0, 1), 9: (0, 1),  // MD MF MB MG MR
        14: (0, 2), 17: (0, 2),  // MINFO RP
        15: (2, 1), 18: (2, 1), 21: (2, 1), 36: (2, 1),  // MX AFSDB RT KX
        26: (2, 2),  // PX
    ]

    mutating func readDecompressed(_ layout: (prefix: Int, names: Int), end: Int) throws -> [UInt8] {
        var out = try readBytes(layout.prefix)
        for _ in 0..<layout.names {
            guard offset < end else { throw WireError(.truncated(needed: 1), at: offset) }
            out += try readName().wire
        }
        return out
    }
}
