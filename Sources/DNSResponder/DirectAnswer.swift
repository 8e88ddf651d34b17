import DNSWire
import RecordIndex

/// The common answers written straight from the received datagram into the reply buffer: the
/// question is read in place, looked up by the hash of its bytes, and the records are copied
/// from the node's stored wire form through `DirectWriter`. No heap allocation, no decoded
/// values. It covers positive answers (with SRV/NS additional records and `loadbalance`
/// rotation), NODATA and NXDOMAIN with the SOA, one CNAME hop inside our zones, and the
/// ndots:5 search-path misses. Everything else (errors, forwarding, ANY, truncation, longer
/// chains, synthesised pod names, zones not yet synced) returns nil and takes `respond(to:)`,
/// which writes the same bytes for what both cover: `DirectAnswerTests` and the query fuzzer
/// hold the two to that.
extension QueryProcessor {
    public struct DirectReply: Sendable {
        /// Bytes written into the buffer.
        public var count: Int
        public var rcode: ResponseCode
        public var type: RecordType
        /// The zone the question fell in.
        public var zone: DNSName
    }

    /// Writes the reply to `query` into `out` or returns nil, writing nothing useful, when the
    /// query is not one of the common cases or its reply does not fit `out`. `rotation` is the
    /// `loadbalance` offset; `client` the sender, whose misses autopath may answer (the long way).
    public func respondDirect(to q: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, transport: Transport,
                              snapshot: Snapshot, rotation: Int = 0, client: IPAddress? = nil) -> DirectReply? {
        // Header: a query (QR=0, opcode 0), one question, nothing else but an OPT.
        guard q.count >= Header.size, forwardedInside.isEmpty else { return nil }
        let header = Header(bytes: q)
        guard !header.isResponse, header.opcode == .query, header.qdCount == 1, header.anCount == 0, header.nsCount == 0,
              header.arCount <= 1 else { return nil }

        // The question name, uncompressed, read in place.
        var i = Header.size
        while true {
            guard i < q.count else { return nil }
            let len = Int(q[i])
            if len == 0 { break }
            guard len < 64 else { return nil }
            i += len + 1
        }
        let name = Header.size..<(i + 1)
        // The root has no label to point at (the long way writes its owners whole).
        guard name.count > 1, name.count <= 255, i + 5 <= q.count else { return nil }
        let type = RecordType(rawValue: u16(q, i + 1))
        guard u16(q, i + 3) == RecordClass.in.rawValue else { return nil }
        switch type {
        case .axfr, .ixfr, .maila, .mailb, .tkey, .tsig, .opt, .any: return nil
        default: break
        }
        // A question the plugins of its server block may act on (hosts, template, rewrite) goes the long way.
        if let plugins, plugins.claims(q, name, type: type) { return nil }
        let question = Header.size..<(i + 5)
        i += 5

        // EDNS: an OPT at the root, version 0, well-formed options (ignored, as always).
        var edns: EDNS?
        if header.arCount == 1 {
            guard i + 11 <= q.count, q[i] == 0, u16(q, i + 1) == RecordType.opt.rawValue, q[i + 6] == 0 else { return nil }
            let end = i + 11 + Int(u16(q, i + 9))
            guard end == q.count else { return nil }
            var o = i + 11
            while o < end {
                guard end - o >= 4 else { return nil }
                let code = u16(q, o), len = Int(u16(q, o + 2))
                o += 4
                guard len <= end - o else { return nil }
                if code == EDNS.cookieOption && !EDNS.isValidCookieLength(len) { return nil }
                o += len
            }
            let flags = u16(q, i + 7)
            edns = EDNS(udpPayloadSize: u16(q, i + 3), extendedRcodeHigh: q[i + 5], version: 0,
                        dnssecOK: flags & 0x8000 != 0, otherFlags: flags & 0x7FFF)
            i = end
        }
        guard i == q.count else { return nil }

        let limit = sizeLimit(transport, edns)
        guard let (zone, depth) = snapshot.zone(for: q, name) else { return nil }

        // Decide, with nodes only. A reverse zone's PTRs are not nodes: an address's name is
        // answered from who asks for it, its record written on the stack (one Service; several go
        // the long way). The names above them are nodes; a name nobody asks for is a miss.
        if depth > 0, let ptrs = zone.ptrs, let key = PTRTable.Key(reverseName: q, name) {
            let found: DirectReply?? = withUnsafeTemporaryAllocation(byteCount: PTRTable.maxRecordSize, alignment: 1) { buffer in
                switch ptrs.write(key, into: buffer) {
                case .none: return .none
                case .many: return .some(nil)
                case .one(let count):
                    let set: Node.Header = (.ptr, 1, 0, 0..<count)
                    return write(header, q, question, out, limit, edns, rcode: .noError, zone: zone, type: type) { w in
                        type == .ptr ? Self.answer(&w, UnsafeRawBufferPointer(buffer), set, owner: .pointer(12), rotation: 0) : Self.soa(&w, zone)
                    }
                }
            }
            if let found { return found }
        }
        let hash = DNSName.foldedHash(q, name)
        guard let node = zone.nodes.node(q, name, hash: hash) else {
            guard zone.synced, !(forwarding && zone.kind == .reverse), zone.insecurePodNamespaces == nil || depth != 3 else { return nil }
            // A miss from a client whose namespace is known may be its search path: autopath walks it.
            if autopath, zone.kind == .cluster, let client, snapshot.clients.namespace(of: client) != nil { return nil }
            return write(header, q, question, out, limit, edns, rcode: .nxDomain, zone: zone, type: type) { w in
                Self.soa(&w, zone)
            }
        }
        if type != .cname, let cname = node.set(.cname) {
            return chase(header, q, question, name, out, limit, edns, node, cname, zone, type, rotation, snapshot)
        }
        let set = node.set(type)
        return write(header, q, question, out, limit, edns, rcode: .noError, zone: zone, type: type) { w in
            guard let set else { return Self.soa(&w, zone) }
            return node.withWire { Self.answer(&w, $0, set, owner: .pointer(12), rotation: rotation) }
        }
    }

    /// One CNAME in our zones, then its target's records, as `Responder.decide` chains them. A
    /// second CNAME goes the long way.
    private func chase(_ header: Header, _ q: UnsafeRawBufferPointer, _ question: Range<Int>, _ name: Range<Int>, _ out: UnsafeMutableRawBufferPointer,
                       _ limit: Int, _ edns: EDNS?, _ node: Node, _ cname: Node.Header, _ zone: Zone, _ type: RecordType,
                       _ rotation: Int, _ snapshot: Snapshot) -> DirectReply? {
        node.withWire { w1 in
            // The target is the first record's RDATA: after the placeholder owner and 10 bytes.
            let start = cname.body.lowerBound + 11
            var end = start
            while w1[end] != 0 { end += Int(w1[end]) + 1 }
            let target = start..<(end + 1)
            enum Next { case cnameOnly, nxDomain(Zone), noData(Zone), answer(Node, Node.Header) }
            let next: Next
            if DNSName.equalFolded(w1, target, q, name) {
                next = .cnameOnly  // a loop: D12 answers the chain so far
            } else if let (zone2, depth2) = snapshot.zone(for: w1, target) {
                let hash = DNSName.foldedHash(w1, target)
                if let node2 = zone2.nodes.node(w1, target, hash: hash) {
                    if type != .cname, node2.set(.cname) != nil { return nil }
                    if let set2 = node2.set(type) { next = .answer(node2, set2) } else { next = .noData(zone2) }
                } else {
                    guard zone2.synced, zone2.insecurePodNamespaces == nil || depth2 != 3, !zone2.hasPTR(w1, target) else { return nil }
                    next = .nxDomain(zone2)
                }
            } else {
                guard !forwarding else { return nil }
                next = .cnameOnly  // out of zone, not forwarded: left for the client (D12)
            }
            var rcode = ResponseCode.noError
            if case .nxDomain = next { rcode = .nxDomain }
            return write(header, q, question, out, limit, edns, rcode: rcode, zone: zone, type: type) { w in
                guard Self.answer(&w, w1, cname, owner: .pointer(12), rotation: 0) else { return false }
                switch next {
                case .cnameOnly: return true
                case .nxDomain(let z), .noData(let z): return Self.soa(&w, z)
                case .answer(let node2, let set2):
                    return node2.withWire { Self.answer(&w, $0, set2, owner: .name(w1, start: start), rotation: rotation) }
                }
            }
        }
    }

    /// Header and question, then `body`'s sections, then the OPT; nil when `body` could not
    /// fit what must be there (the long way sets TC).
    private func write(_ query: Header, _ q: UnsafeRawBufferPointer, _ question: Range<Int>, _ out: UnsafeMutableRawBufferPointer,
                       _ limit: Int, _ edns: EDNS?, rcode: ResponseCode, zone: Zone, type: RecordType,
                       _ body: (inout DirectWriter) -> Bool) -> DirectReply? {
        let header = responseHeader(query, rcode, authoritative: true)
        return DirectWriter.withTargets { targets in
            var w = DirectWriter(into: out, targets: targets, limit: limit, header: header)
            w.appendQuestion(verbatim: q, question)
            let reply = replyEDNS(edns, rcode: rcode)
            if let reply { w.reserve(reply.wireSize) }
            guard body(&w) else { return nil }
            let count = w.finish(edns: reply)
            guard !w.overflowed else { return nil }
            return DirectReply(count: count, rcode: rcode, type: type, zone: zone.apex)
        }
    }

    /// An RRset's records into the answer, then its additional records as far as they fit
    /// (RFC 2181 §9: no TC for those). False when the records themselves do not fit.
    private static func answer(_ w: inout DirectWriter, _ wire: UnsafeRawBufferPointer, _ set: Node.Header, owner: RecordOwner,
                               rotation: Int) -> Bool {
        var at = set.body.lowerBound
        let mark = w.mark
        for _ in 0..<set.records {
            at = w.writeRecord(wire, at: at, owner: owner)
            if w.overLimit { break }
        }
        if rotation != 0, set.type == .a || set.type == .aaaa {
            w.rotate(since: mark, records: set.records, by: rotation)
        }
        guard w.commit(mark, records: set.records, section: .answer) else { return false }
        guard set.additional > 0 else { return true }
        let extra = w.mark
        for _ in 0..<set.additional {
            at = w.writeRecord(wire, at: at, owner: .inPlace)
            if w.overLimit { break }
        }
        _ = w.commit(extra, records: set.additional, section: .additional)
        return true
    }

    /// The zone's SOA in the authority section (RFC 2308 §3).
    private static func soa(_ w: inout DirectWriter, _ zone: Zone) -> Bool {
        let mark = w.mark
        zone.soaWire.withUnsafeBytes { _ = w.writeRecord($0, at: 0, owner: .inPlace) }
        return w.commit(mark, records: 1, section: .authority)
    }

    @inline(__always)
    private func u16(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
}
