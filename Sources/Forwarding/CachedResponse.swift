import DNSWire
import Synchronization

/// An upstream answer kept ready to send: encoded once with ID 0, no OPT and our flags, with the
/// offset of every TTL, so a hit is a copy and a few byte writes (the client's ID, flags, question
/// bytes, aged TTLs, our OPT), not an encode.
public final class CachedResponse: Sendable {
    enum Kind: String, Sendable { case success, denial, uncacheable }

    /// Header (ID 0) + question + records; ARCOUNT counts no OPT.
    let message: [UInt8]
    /// Where the question ends: bytes 12..<questionEnd are replaced by the client's question.
    let questionEnd: Int
    let ttlOffsets: [Int]
    let ttls: [UInt32]
    public let rcode: ResponseCode
    let authenticData: Bool
    let kind: Kind
    /// Seconds it may be served from the cache (TTL capped); 0 for the uncacheable.
    let lifetime: UInt32
    /// Monotonic nanoseconds when it was stored.
    let stored: UInt64
    /// Hits since it was stored: popular entries are prefetched.
    let hits = Atomic<Int>(0)

    /// Decides what an upstream reply is worth keeping (RFC 2308, reliability.md §2.6) and encodes it.
    init(_ reply: Message, question: Question, limits: ForwardConfiguration.Cache, now: UInt64) {
        let rcode = reply.rcode
        self.rcode = rcode
        authenticData = reply.header.authenticData
        stored = now
        var kind = Kind.uncacheable
        var lifetime: UInt32 = 0
        // TSIG and SIG(0) records are for the hop they came over, never passed on.
        let additional = reply.additional.filter { $0.type.rawValue != 250 && $0.type.rawValue != 24 }
        let soa = reply.authority.first { $0.type == .soa }
        if reply.header.truncated {
            // Never cache a truncated message (reliability.md §2.6).
        } else if rcode == .noError, !reply.answers.isEmpty {
            kind = .success
            lifetime = min(limits.maxTTL, (reply.answers + reply.authority).map(\.ttl).min() ?? 0)
        } else if rcode == .nxDomain || (rcode == .noError && reply.answers.isEmpty) {
            // RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM). Without an SOA it is not
            // cached (§5: SHOULD NOT), nor is an NXDOMAIN carrying answers it should not have.
            if let soa, case .soa(let data) = soa.rdata, rcode == .noError || reply.answers.allSatisfy({ $0.type == .cname }) {
                kind = .denial
                lifetime = min(limits.maxDenialTTL, soa.ttl, data.minimum)
            }
        }
        if lifetime == 0 { kind = .uncacheable }
        self.kind = kind
        self.lifetime = lifetime

        var header = Header()
        header.isResponse = true
        header.recursionAvailable = true
        header.rcodeLow = UInt8(rcode.rawValue & 0x0F)
        var w = MessageWriter(limit: 65535, header: header)
        w.appendQuestion(question)
        w.append(reply.answers, to: .answer)
        w.append(reply.authority, to: .authority)
        w.append(additional, to: .additional)
        var bytes = w.finish()
        var offsets: [Int] = []
        var ttls: [UInt32] = []
        questionEnd = Self.scan(bytes, ttlOffsets: &offsets, ttls: &ttls)
        if kind != .uncacheable {
            // What we hand out never outlives what we keep (CoreDNS does the same): a downstream
            // cache does not hold an answer longer than --cache-ttl either.
            for (i, offset) in offsets.enumerated() where ttls[i] > lifetime {
                ttls[i] = lifetime
                Self.put(lifetime, at: offset, in: &bytes)
            }
        }
        message = bytes
        ttlOffsets = offsets
        self.ttls = ttls
    }

    static func put(_ ttl: UInt32, at offset: Int, in out: inout [UInt8]) {
        out[offset] = UInt8(ttl >> 24)
        out[offset + 1] = UInt8((ttl >> 16) & 0xFF)
        out[offset + 2] = UInt8((ttl >> 8) & 0xFF)
        out[offset + 3] = UInt8(ttl & 0xFF)
    }

    func expires(_ now: UInt64) -> Bool { now >= stored + UInt64(lifetime) * 1_000_000_000 }

    /// Whole seconds since it was stored.
    func age(_ now: UInt64) -> UInt32 { UInt32(min((now &- stored) / 1_000_000_000, UInt64(UInt32.max))) }

    /// Seconds of freshness left.
    func remaining(_ now: UInt64) -> UInt32 { lifetime > age(now) ? lifetime - age(now) : 0 }

    /// The reply to one client, whose query had `header` and `questionBytes`: its ID, RD and CD,
    /// AD only when it asked for DNSSEC data (RFC 6840 §5.8), its question bytes, TTLs aged by the
    /// time in the cache (or `staleTTL`), and `edns`, our OPT for it (nil when it sent none; its
    /// DO bit echoes the client's). A message over `limit` becomes TC=1 with the question only:
    /// the client asks again over TCP.
    public func reply(to h: Header, questionBytes: [UInt8], edns: EDNS?, limit: Int, now: UInt64, staleTTL: UInt32? = nil) -> [UInt8] {
        let optSize = edns?.wireSize ?? 0
        var out: [UInt8]
        var truncated = false
        if message.count + optSize <= limit {
            out = []
            out.reserveCapacity(message.count + optSize)
            out.append(contentsOf: message)
            let age = self.age(now)
            for (i, offset) in ttlOffsets.enumerated() {
                Self.put(staleTTL ?? (ttls[i] > age ? ttls[i] - age : 0), at: offset, in: &out)
            }
        } else {
            out = Array(message[0..<questionEnd])
            for i in 6..<12 { out[i] = 0 }
            truncated = true
        }
        out[0] = UInt8(h.id >> 8)
        out[1] = UInt8(h.id & 0xFF)
        out[2] = 0x80 | (h.recursionDesired ? 0x01 : 0) | (truncated ? 0x02 : 0)
        let wantsAD = edns?.dnssecOK == true || h.authenticData
        out[3] = 0x80 | (authenticData && wantsAD ? 0x20 : 0) | (h.checkingDisabled ? 0x10 : 0) | UInt8(rcode.rawValue & 0x0F)
        // Same name ignoring case, so the same length: the client's bytes keep its case (0x20).
        if questionBytes.count == questionEnd - 12 {
            for (i, b) in questionBytes.enumerated() { out[12 + i] = b }
        }
        if let edns {
            let ar = (UInt16(out[10]) << 8 | UInt16(out[11])) + 1
            out[10] = UInt8(ar >> 8)
            out[11] = UInt8(ar & 0xFF)
            out += [0, 0, 41, UInt8(edns.udpPayloadSize >> 8), UInt8(edns.udpPayloadSize & 0xFF),
                    edns.extendedRcodeHigh, 0, edns.dnssecOK ? 0x80 : 0, 0, 0, 0]
        }
        return out
    }

    /// The records, TTLs aged, for answers built around them (an ExternalName's CNAME chain).
    public func decoded(_ now: UInt64, staleTTL: UInt32? = nil) -> Message? {
        guard var m = try? Message(decoding: message) else { return nil }
        let age = self.age(now)
        func aged(_ rrs: [ResourceRecord]) -> [ResourceRecord] {
            rrs.map { var r = $0; r.ttl = staleTTL ?? (r.ttl > age ? r.ttl - age : 0); return r }
        }
        m.answers = aged(m.answers)
        m.authority = aged(m.authority)
        m.additional = aged(m.additional)
        return m
    }

    /// Walks a message we encoded ourselves: returns where the question ends and collects the
    /// TTL offsets.
    static func scan(_ b: [UInt8], ttlOffsets: inout [Int], ttls: inout [UInt32]) -> Int {
        func skipName(_ i: inout Int) {
            while i < b.count {
                let len = b[i]
                if len & 0xC0 == 0xC0 { i += 2; return }
                i += 1
                if len == 0 { return }
                i += Int(len)
            }
        }
        var i = 12
        skipName(&i)
        i += 4
        let questionEnd = i
        let records = [6, 8, 10].reduce(0) { $0 + (Int(b[$1]) << 8 | Int(b[$1 + 1])) }
        for _ in 0..<records where i < b.count {
            skipName(&i)
            let ttlAt = i + 4
            guard ttlAt + 6 <= b.count else { break }
            ttlOffsets.append(ttlAt)
            ttls.append(UInt32(b[ttlAt]) << 24 | UInt32(b[ttlAt + 1]) << 16 | UInt32(b[ttlAt + 2]) << 8 | UInt32(b[ttlAt + 3]))
            let rdlength = Int(b[ttlAt + 4]) << 8 | Int(b[ttlAt + 5])
            i = ttlAt + 6 + rdlength
        }
        return questionEnd
    }
}
