/// Writes a DNS message into one buffer: name compression (RFC 1035 §4.1.4), RRsets appended
/// whole or not at all, room for the OPT record reserved before any record is written, so the
/// OPT survives truncation (RFC 6891 §7, RFC 8906 §8.2.7).
public struct MessageWriter {
    public enum Section: Int { case answer = 0, authority = 1, additional = 2 }

    public private(set) var bytes: [UInt8]
    /// Size the message may not exceed.
    public let limit: Int
    private var reserved = 0
    /// Offsets of label starts already in the message: the candidates for compression pointers.
    private var targets: [Int] = []
    private var qdCount: UInt16 = 0
    private var counts: (UInt16, UInt16, UInt16) = (0, 0, 0)
    private static let maxTargets = 512

    public init(limit: Int = 65535, header: Header) {
        self.limit = min(limit, 65535)
        bytes = []
        bytes.reserveCapacity(min(self.limit, 1232))
        bytes.append(UInt8(header.id >> 8))
        bytes.append(UInt8(header.id & 0xFF))
        let (f1, f2) = header.flagBytes
        bytes.append(f1)
        bytes.append(f2)
        bytes.append(contentsOf: repeatElement(0, count: 8))
    }

    /// Bytes written so far plus the space reserved for OPT.
    public var size: Int { bytes.count + reserved }

    /// Sets or clears TC in the header already written.
    public mutating func setTruncated(_ on: Bool) {
        if on { bytes[2] |= 0x02 } else { bytes[2] &= ~0x02 }
    }

    /// Copies a question exactly as the client sent it (name bytes in its case, type, class):
    /// owners equal to it then compress to offset 12 and keep the client's case (DESIGN.md).
    /// The bytes must be an uncompressed name followed by four bytes.
    public mutating func appendQuestion(verbatim question: ArraySlice<UInt8>) {
        var i = question.startIndex
        while question[i] != 0 {
            registerTarget(bytes.count + (i - question.startIndex))
            i += Int(question[i]) + 1
        }
        bytes.append(contentsOf: question)
        qdCount += 1
    }

    public mutating func appendQuestion(_ q: Question) {
        writeName(q.name, compress: true)
        appendUInt16(q.type.rawValue)
        appendUInt16(q.recordClass.rawValue)
        qdCount += 1
    }

    /// Keeps `n` bytes free for a record written at the end (the OPT).
    public mutating func reserve(_ n: Int) {
        reserved += n
    }

    /// Appends an RRset whole. Returns false, leaving the message as it was, when it does not fit.
    @discardableResult
    public mutating func append<C: Collection>(_ records: C, to section: Section) -> Bool where C.Element == ResourceRecord {
        let mark = bytes.count
        let markTargets = targets.count
        for rr in records {
            writeRecord(rr)
            if bytes.count + reserved > limit { break }
        }
        guard bytes.count + reserved <= limit else {
            bytes.removeSubrange(mark...)
            targets.removeSubrange(markTargets...)
            return false
        }
        let n = UInt16(records.count)
        switch section {
        case .answer: counts.0 += n
        case .authority: counts.1 += n
        case .additional: counts.2 += n
        }
        return true
    }

    /// Writes the OPT record (into the space reserved for it) and returns the finished message.
    public mutating func finish(edns: EDNS? = nil) -> [UInt8] {
        var ar = counts.2
        if let edns {
            reserved = max(0, reserved - edns.wireSize)
            bytes.append(0)  // root owner
            appendUInt16(RecordType.opt.rawValue)
            appendUInt16(edns.udpPayloadSize)
            bytes.append(edns.extendedRcodeHigh)
            bytes.append(edns.version)
            appendUInt16((edns.dnssecOK ? 0x8000 : 0) | (edns.otherFlags & 0x7FFF))
            appendUInt16(UInt16(edns.options.reduce(0) { $0 + 4 + $1.data.count }))
            for o in edns.options {
                appendUInt16(o.code)
                appendUInt16(UInt16(o.data.count))
                bytes.append(contentsOf: o.data)
            }
            ar += 1
        }
        put16(qdCount, at: 4)
        put16(counts.0, at: 6)
        put16(counts.1, at: 8)
        put16(ar, at: 10)
        return bytes
    }

    // MARK: - Records and names

    private mutating func writeRecord(_ rr: ResourceRecord) {
        writeName(rr.name, compress: true)
        appendUInt16(rr.type.rawValue)
        appendUInt16(rr.recordClass.rawValue)
        appendUInt16(UInt16(rr.ttl >> 16))
        appendUInt16(UInt16(rr.ttl & 0xFFFF))
        let lengthAt = bytes.count
        appendUInt16(0)
        switch rr.rdata {
        // RFC 3597 §4: only the RFC 1035 types may have their RDATA names compressed.
        case .ns(let n), .cname(let n), .ptr(let n):
            writeName(n, compress: true)
        case .soa(let soa):
            writeName(soa.mname, compress: true)
            writeName(soa.rname, compress: true)
            for v in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                appendUInt16(UInt16(v >> 16))
                appendUInt16(UInt16(v & 0xFFFF))
            }
        case .srv(let srv):
            // RFC 2782: no compression in SRV. Its target is registered for later pointers.
            appendUInt16(srv.priority)
            appendUInt16(srv.weight)
            appendUInt16(srv.port)
            writeName(srv.target, compress: false)
        default:
            rr.rdata.appendUncompressed(to: &bytes)
        }
        put16(UInt16(truncatingIfNeeded: bytes.count - lengthAt - 2), at: lengthAt)
    }

    private mutating func writeName(_ name: DNSName, compress: Bool) {
        let w = name.wire
        var i = 0
        // Label starts of this name become targets only once the name is complete: a pointer
        // into a name still being written would lead past the end.
        let firstNew = bytes.count
        var newLabels = 0
        defer {
            var offset = firstNew
            for _ in 0..<newLabels {
                registerTarget(offset)
                offset += Int(bytes[offset]) + 1
            }
        }
        while w[i] != 0 {
            if compress, let target = findSuffix(w, from: i) {
                appendUInt16(0xC000 | UInt16(target))
                return
            }
            let len = Int(w[i])
            bytes.append(contentsOf: w[i...(i + len)])
            newLabels += 1
            i += len + 1
        }
        bytes.append(0)
    }

    private mutating func registerTarget(_ offset: Int) {
        if offset < 0x3FFF && targets.count < MessageWriter.maxTargets { targets.append(offset) }
    }

    /// The offset of an earlier name equal (ignoring case) to the suffix of `w` starting at `i`.
    private func findSuffix(_ w: [UInt8], from i: Int) -> Int? {
        for t in targets where matches(at: t, w, from: i) { return t }
        return nil
    }

    private func matches(at offset: Int, _ w: [UInt8], from start: Int) -> Bool {
        var p = offset
        var k = start
        while true {
            while bytes[p] & 0xC0 == 0xC0 {
                p = Int(bytes[p] & 0x3F) << 8 | Int(bytes[p + 1])
            }
            let len = bytes[p]
            guard len == w[k] else { return false }
            if len == 0 { return true }
            var j = 1
            while j <= Int(len) {
                let a = bytes[p + j], b = w[k + j]
                if a != b && DNSName.fold(a) != DNSName.fold(b) { return false }
                j += 1
            }
            p += Int(len) + 1
            k += Int(len) + 1
        }
    }

    @inline(__always)
    private mutating func appendUInt16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8))
        bytes.append(UInt8(v & 0xFF))
    }

    @inline(__always)
    private mutating func put16(_ v: UInt16, at i: Int) {
        bytes[i] = UInt8(v >> 8)
        bytes[i + 1] = UInt8(v & 0xFF)
    }
}

extension RData {
    /// Bytes `appendUncompressed` writes.
    public var uncompressedSize: Int {
        switch self {
        case .a: return 4
        case .aaaa: return 16
        case .ns(let n), .cname(let n), .ptr(let n): return n.wire.count
        case .soa(let soa): return soa.mname.wire.count + soa.rname.wire.count + 20
        case .srv(let srv): return 6 + srv.target.wire.count
        case .txt(let strings): return strings.reduce(0) { $0 + 1 + $1.count }
        case .opaque(let data): return data.count
        }
    }

    /// The RDATA with every name written whole: bytes that stand alone.
    public func appendUncompressed(to out: inout [UInt8]) {
        func u16(_ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xFF)) }
        func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
        switch self {
        case .a(let ip), .aaaa(let ip):
            switch ip {
            case let .v4(a, b, c, d): out.append(a); out.append(b); out.append(c); out.append(d)
            case let .v6(b): out.append(contentsOf: b)
            }
        case .ns(let n), .cname(let n), .ptr(let n):
            out.append(contentsOf: n.wire)
        case .soa(let soa):
            out.append(contentsOf: soa.mname.wire)
            out.append(contentsOf: soa.rname.wire)
            for v in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { u32(v) }
        case .srv(let srv):
            u16(srv.priority)
            u16(srv.weight)
            u16(srv.port)
            out.append(contentsOf: srv.target.wire)
        case .txt(let strings):
            for s in strings {
                out.append(UInt8(s.count))
                out.append(contentsOf: s)
            }
        case .opaque(let data):
            out.append(contentsOf: data)
        }
    }
}

extension ResourceRecord {
    /// Appends the record in wire form with every name uncompressed, bytes that stand alone to
    /// be stored and copied into messages; `owner: false` writes the root in place of the
    /// owner (the store knows it).
    public func appendUncompressed(to out: inout [UInt8], owner: Bool = true) {
        if owner { out.append(contentsOf: name.wire) } else { out.append(0) }
        for v in [type.rawValue, recordClass.rawValue, UInt16(ttl >> 16), UInt16(ttl & 0xFFFF)] {
            out.append(UInt8(v >> 8))
            out.append(UInt8(v & 0xFF))
        }
        let lengthAt = out.count
        out.append(0)
        out.append(0)
        rdata.appendUncompressed(to: &out)
        let n = out.count - lengthAt - 2
        out[lengthAt] = UInt8(truncatingIfNeeded: n >> 8)
        out[lengthAt + 1] = UInt8(truncatingIfNeeded: n)
    }
}

extension Message {
    /// Encodes the whole message with compression and no size limit beyond 65535.
    public func encoded() -> [UInt8] {
        var w = MessageWriter(limit: 65535, header: header)
        for q in questions { w.appendQuestion(q) }
        if let edns { w.reserve(edns.wireSize) }
        w.append(answers, to: .answer)
        w.append(authority, to: .authority)
        w.append(additional, to: .additional)
        return w.finish(edns: edns)
    }
}
