import DNSWire
import RecordIndex

/// Bytes in, bytes out: the admission ladder (DESIGN.md "a query's path"), the responder, and
/// the encoder with the transport's size limit. No sockets here, so the whole path is tested and
/// benchmarked without them; the UDP and TCP handlers only move bytes.
public struct QueryProcessor: Sendable {
    public enum Transport: Sendable {
        case udp
        case tcp
    }

    /// Why a message got no reply at all.
    public enum DropReason: String, Sendable, CaseIterable {
        /// Under 12 bytes: no header to answer (RFC 1035 §4.1.1).
        case short
        /// QR=1: never answer a response (reflection loops).
        case response
    }

    /// What metrics and query logs need to know about a reply, without decoding it again.
    public struct ReplyInfo: Sendable, Equatable {
        public var rcode: ResponseCode
        /// Nil when no question could be read (header-only errors).
        public var question: Question?
        /// The zone the question fell in; nil when it is not ours.
        public var zone: DNSName?

        public init(rcode: ResponseCode, question: Question? = nil, zone: DNSName? = nil) {
            self.rcode = rcode
            self.question = question
            self.zone = zone
        }
    }

    public enum Outcome: Sendable, Equatable {
        case reply([UInt8], ReplyInfo)
        case drop(DropReason)
        /// Not ours: a name outside our zones (or an out-of-zone CNAME target), with whatever our
        /// zones already answered. Whoever asks elsewhere finishes it (`reply(to:with:)`).
        case handOff(Handoff)
    }

    /// A query admitted and decided that our data does not finish: the name to ask elsewhere,
    /// the CNAME prefix already answered, and everything needed to write the reply later, on
    /// any thread. The responder knows nothing of upstreams or caches.
    public struct Handoff: Sendable, Equatable {
        public var header: Header
        public var question: Question
        /// The question as the client sent it, echoed verbatim (its case, DNS 0x20).
        public var questionBytes: [UInt8]
        public var edns: EDNS?
        /// Largest reply for this client and transport.
        public var limit: Int
        public var transport: Transport
        /// The name to ask elsewhere: the question's, or an ExternalName's out-of-zone target.
        public var target: DNSName
        /// The CNAME chain already answered from our zones, written before what comes back.
        public var prefix: Answer?
        /// Autopath's upstream step: the asked name's own answer, sent instead when the target
        /// does not exist upstream (SERVFAIL when the upstream fails).
        public var searchPlain: Answer?
        /// A `rewrite` that changed the name: the reply's records are written back with it, and
        /// the upstream is the one of the name the client asked (its server block's).
        public var rewrite: ResponseRewrite?

        /// The question to ask elsewhere: the target, with the client's type and class.
        public var targetQuestion: Question {
            Question(name: target, type: question.type, recordClass: question.recordClass)
        }
    }

    /// The largest UDP answer we send whatever the client offers (`--udp-size`, DNS Flag Day 2020).
    public var udpSize: Int
    /// Whether names outside our zones are handed off (`.handOff`) or REFUSED.
    public var forwarding: Bool
    /// Walk a pod's search path for it (`--autopath`, `Responder.autopath`): needs the client's
    /// address and the snapshot's `ClientNamespaces`.
    public var autopath: Bool
    /// AAAA questions that would go upstream answer NODATA at once (`--filter-aaaa`).
    public var filterAAAA: Bool
    /// Reverse names without a PTR here go upstream (`ServerConfiguration.reverseFallthrough`).
    public var reverseFallthrough = true
    /// Zones inside ours whose names are forwarded whole: a Corefile's server block for a
    /// subzone of the cluster domain (`my.cluster.local:53 { forward . 10.0.0.1 }`), which CoreDNS
    /// routes to that block. Not empty, the direct path steps aside.
    public var forwardedInside: [DNSName] = []
    /// What autopath and the AAAA filter did.
    public let searchCounters: SearchCounters
    /// The Corefile's answer-shaping plugins by server block (hosts, template, rewrite, chaos, whoami);
    /// nil when no block has one, and then nothing on the query path looks at them.
    public var plugins: PluginChain?

    public init(udpSize: Int = 1232, forwarding: Bool = false, autopath: Bool = false, filterAAAA: Bool = false,
                searchCounters: SearchCounters = SearchCounters(), plugins: PluginChain? = nil) {
        self.udpSize = max(512, min(udpSize, 65535))
        self.forwarding = forwarding
        self.autopath = autopath
        self.filterAAAA = filterAAAA
        self.searchCounters = searchCounters
        self.plugins = plugins.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the long way needs the client's address and port (`whoami`), read there only.
    public var wantsClientPort: Bool { plugins?.hasWhoami ?? false }

    /// `rotation` starts each A and AAAA set of the answer at its `rotation % count`th record
    /// (`loadbalance`; 0 keeps the stored order). `client` is the sender's address, for autopath.
    /// `clientPort` (with `client`) is for `whoami` (`wantsClientPort`).
    public func respond(to query: [UInt8], transport: Transport, snapshot: Snapshot, rotation: Int = 0,
                        client: IPAddress? = nil, clientPort: Int? = nil) -> Outcome {
        // 1. Header ladder.
        guard query.count >= Header.size else { return .drop(.short) }
        let header = Header(bytes: query)
        guard !header.isResponse else { return .drop(.response) }
        guard header.opcode == .query else {
            // RFC 8906 §8.1.4: NOTIMP, opcode echoed, empty sections, no OPT.
            return headerOnly(header, .notImp)
        }
        // RFC 9619: QDCOUNT must be 1 (0 is valid only with a COOKIE, which we do not support).
        guard header.qdCount == 1 else { return headerOnly(header, .formErr) }

        // 2. The question, then the rest of the message (for OPT), both as hostile bytes.
        var reader = WireReader(query, offset: Header.size)
        let question: Question
        do {
            question = try reader.readQuestion()
        } catch {
            return headerOnly(header, .formErr)
        }
        let questionBytes = query[Header.size..<reader.offset]
        var edns: EDNS?
        do {
            edns = try Self.readEDNS(&reader, header)
        } catch {
            return encode(header, questionBytes, question, Answer.error(.formErr), edns: nil, limit: 512)
        }

        let limit = sizeLimit(transport, edns)

        // 3. EDNS version (RFC 6891 §6.1.3): BADVERS, OPT version 0, no answer, AA=0.
        if let e = edns, e.version != 0 {
            return encode(header, questionBytes, question, Answer.error(.badVers), edns: e, limit: limit)
        }
        // The server block's plugins come first, before the class check (chaos answers CH).
        if let plugins, let block = plugins.pluginBlock(for: question.name) {
            return respond(block, header, questionBytes, question, edns: edns, limit: limit, transport: transport, snapshot: snapshot,
                           rotation: rotation, client: client, clientPort: clientPort)
        }

        // 4. Class: we serve IN only.
        guard question.recordClass == .in else {
            return encode(header, questionBytes, question, Answer.error(.refused), edns: edns, limit: limit)
        }

        // 5. Decide, then encode (or hand off what is not ours).
        let resolution = resolve(question, header: header, snapshot: snapshot, client: client)
        switch resolution {
        case .answer(let answer):
            return encode(header, questionBytes, question, answer, edns: edns, limit: limit, rotation: rotation)
        case .forward(let target, let prefix):
            return .handOff(Handoff(header: header, question: question, questionBytes: Array(questionBytes), edns: edns,
                                           limit: limit, transport: transport, target: target, prefix: prefix))
        case .forwardSearch(let target, let prefix, let plain):
            return .handOff(Handoff(header: header, question: question, questionBytes: Array(questionBytes), edns: edns,
                                           limit: limit, transport: transport, target: target, prefix: prefix, searchPlain: plain))
        }
    }

    /// The snapshot's answer, autopath's walk and the AAAA filter: everything after the plugins.
    func resolve(_ question: Question, header: Header, snapshot: Snapshot, client: IPAddress?) -> Responder.Resolution {
        if forwarding, !forwardedInside.isEmpty, forwardedInside.contains(where: { question.name.isSubdomain(of: $0) }) {
            return .forward(target: question.name, prefix: nil)
        }
        var resolution = Responder.resolve(question, in: snapshot, forwarding: forwarding, reverseFallthrough: reverseFallthrough)
        if autopath, let client, case .answer(let plain) = resolution, plain.rcode == .nxDomain,
           let namespace = snapshot.clients.namespace(of: client),
           let search = Responder.autopath(question, plain: plain, namespace: namespace, recursion: header.recursionDesired,
                                           in: snapshot, forwarding: forwarding) {
            resolution = search.resolution
            if case .answer = resolution {
                if search.saved > 0 { searchCounters.hit(saving: search.saved) } else { searchCounters.miss() }
            }
        }
        if filterAAAA, question.type == .aaaa {
            resolution = filteredAAAA(resolution)
        }
        return resolution
    }

    /// `--filter-aaaa`: an AAAA question that would go upstream gets NODATA now: NOERROR, the
    /// CNAME chain from our zones if there is one, no SOA (the zone of a name upstream is not
    /// known here). Autopath's upstream step gets the asked name's own answer instead: without
    /// asking, whether the bare name exists is not known, and a CNAME to it would claim it does.
    func filteredAAAA(_ resolution: Responder.Resolution) -> Responder.Resolution {
        switch resolution {
        case .answer:
            return resolution
        case .forward(_, let prefix):
            searchCounters.filteredAAAA.add(1, ordering: .relaxed)
            var answer = prefix ?? Answer(rcode: .noError, authoritative: false)
            answer.rcode = .noError
            answer.recursionAvailable = true
            return .answer(answer)
        case .forwardSearch(_, _, let plain):
            searchCounters.filteredAAAA.add(1, ordering: .relaxed)
            searchCounters.miss()
            return .answer(plain)
        }
    }

    /// The reply to a handed-off query, from an answer value (errors, ExternalName chains, what
    /// came back from elsewhere decoded).
    public func reply(to request: Handoff, with answer: Answer) -> ([UInt8], ReplyInfo) {
        var answer = answer
        request.rewrite?.apply(to: &answer)
        let q = request.questionBytes
        guard case .reply(let bytes, let info) = encode(request.header, q[...], request.question, answer, edns: request.edns, limit: request.limit) else {
            return ([], ReplyInfo(rcode: answer.rcode))  // encode always replies
        }
        return (bytes, info)
    }

    /// The largest reply for this transport and client: 65,535 over TCP; over UDP the client's
    /// EDNS size within 512…`udpSize`, 512 without EDNS (RFC 6891 §6.2.5).
    func sizeLimit(_ transport: Transport, _ edns: EDNS?) -> Int {
        switch transport {
        case .tcp: return 65535
        case .udp: return edns.map { max(512, min(Int($0.udpPayloadSize), udpSize)) } ?? 512
        }
    }

    /// Our OPT record for a reply (RFC 6891 §6.1.2): our size, version 0, DO echoed (RFC 3225),
    /// no options echoed, unknown flags cleared (RFC 8906 §8.2.4).
    public func replyEDNS(_ query: EDNS?, rcode: ResponseCode) -> EDNS? {
        query.map { EDNS(udpPayloadSize: UInt16(udpSize), extendedRcodeHigh: UInt8(rcode.rawValue >> 4), version: 0, dnssecOK: $0.dnssecOK) }
    }

    /// Reads the answer, authority and additional sections, keeping only the OPT. Records in a
    /// query are parsed (so malformed ones are caught) and otherwise ignored.
    static func readEDNS(_ reader: inout WireReader, _ header: Header) throws -> EDNS? {
        var edns: EDNS?
        for section in 0..<3 {
            let count = section == 0 ? header.anCount : section == 1 ? header.nsCount : header.arCount
            for _ in 0..<count {
                let at = reader.offset
                if case .opt(let e) = try reader.readEntry() {
                    guard section == 2 else { throw WireError(.optOutsideAdditional, at: at) }
                    guard edns == nil else { throw WireError(.duplicateOPT, at: at) }
                    edns = e
                }
            }
        }
        guard reader.remaining == 0 else { throw WireError(.trailingBytes(count: reader.remaining), at: reader.offset) }
        return edns
    }

    func responseHeader(_ query: Header, _ rcode: ResponseCode, authoritative: Bool, recursionAvailable: Bool = false) -> Header {
        var h = Header()
        h.id = query.id
        h.isResponse = true
        h.opcode = query.opcode
        h.recursionDesired = query.recursionDesired
        // RFC 4035 §3.1.6: CD is copied; AD stays 0 from authoritative data; Z is cleared.
        h.checkingDisabled = query.checkingDisabled
        h.authoritative = authoritative
        h.recursionAvailable = recursionAvailable
        h.rcodeLow = UInt8(rcode.rawValue & 0x0F)
        return h
    }

    func headerOnly(_ query: Header, _ rcode: ResponseCode) -> Outcome {
        var w = MessageWriter(limit: 512, header: responseHeader(query, rcode, authoritative: false))
        return .reply(w.finish(), ReplyInfo(rcode: rcode))
    }

    func encode(_ query: Header, _ question: ArraySlice<UInt8>, _ parsed: Question, _ answer: Answer, edns: EDNS?, limit: Int,
                rotation: Int = 0) -> Outcome {
        var w = MessageWriter(limit: limit, header: responseHeader(query, answer.rcode, authoritative: answer.authoritative,
                                                                   recursionAvailable: answer.recursionAvailable))
        w.appendQuestion(verbatim: question)
        let reply = replyEDNS(edns, rcode: answer.rcode)
        if let reply { w.reserve(reply.wireSize) }
        var truncated = false
        for set in answer.answer where !truncated {
            truncated = !w.append(set, to: .answer, rotate: rotation)
        }
        if !truncated {
            for set in answer.authority where !truncated {
                truncated = !w.append(set, to: .authority)
            }
        }
        if !truncated {
            // RFC 2181 §9: additional data that does not fit is left out without TC.
            for set in answer.additional {
                if !w.append(set, to: .additional) { break }
            }
        }
        if truncated { w.setTruncated(true) }
        return .reply(w.finish(edns: reply), ReplyInfo(rcode: answer.rcode, question: parsed, zone: answer.zone))
    }
}
