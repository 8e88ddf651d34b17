import DNSResponder
import DNSWire
import Forwarding
import NIOCore
import RecordIndex

/// One query's way on the long path, the same over UDP and TCP: the responder answers from the
/// snapshot; what it hands off goes to the cache, then to the upstreams; and the reply is built
/// here from what came back and what our zones already answered (an ExternalName's CNAME chain,
/// autopath's last step, a rewrite). The listeners only move bytes and record metrics; the
/// responder knows nothing of upstreams, the forwarder nothing of our zones.
public struct QueryDispatch: Sendable {
    public struct Reply: Sendable {
        public var bytes: [UInt8]
        public var info: QueryProcessor.ReplyInfo
    }

    public enum Result: Sendable {
        /// The reply, known now.
        case reply(Reply)
        /// No reply at all (`QueryProcessor.DropReason`, counted).
        case drop
        /// The reply once an upstream answers (or the forwarder gives up), on the given loop.
        case later(EventLoopFuture<Reply>)
    }

    public let processor: QueryProcessor
    /// Names outside our zones go here; nil: the processor REFUSES them itself.
    public let forwarder: Forwarder?
    let counters: ServerCounters

    public init(processor: QueryProcessor, forwarder: Forwarder?, counters: ServerCounters = ServerCounters()) {
        self.processor = processor
        self.forwarder = forwarder
        self.counters = counters
    }

    /// A whole query, answered, dropped or handed to the upstreams (whose reply completes on `loop`).
    public func handle(_ query: [UInt8], transport: QueryProcessor.Transport, snapshot: Snapshot, rotation: Int,
                       client: IPAddress?, clientPort: Int?, loop: EventLoop) -> Result {
        switch processor.respond(to: query, transport: transport, snapshot: snapshot, rotation: rotation, client: client,
                                 clientPort: clientPort) {
        case .drop(let reason):
            counters.countDrop(reason)
            return .drop
        case .reply(let bytes, let info):
            if info.rcode == .formErr { counters.formErrReplies.add(1, ordering: .relaxed) }
            return .reply(Reply(bytes: bytes, info: info))
        case .handOff(let handoff):
            return finish(handoff, on: loop)
        }
    }

    /// What the responder handed off: the cache's answer when it has one, our prefix alone (or
    /// REFUSED) when the client wants no recursion (RFC 1034 §4.3.1), else the upstreams'.
    public func finish(_ handoff: QueryProcessor.Handoff, on loop: EventLoop) -> Result {
        // The processor hands off only when it was built with forwarding, that is with a forwarder.
        guard let forwarder else { return .drop }
        let request = Self.upstreamRequest(handoff)
        if let answer = forwarder.cached(request) {
            return .reply(compose(handoff, answer))
        }
        guard handoff.header.recursionDesired else {
            var answer = handoff.prefix ?? Answer.error(.refused)
            answer.recursionAvailable = true
            return .reply(reply(handoff, answer))
        }
        return .later(forwarder.resolve(request, on: loop).map { self.compose(handoff, $0) })
    }

    /// What the forwarder is asked: the target with the client's type and class and its DO and
    /// CD bits. A rewritten name is routed by the name the client asked: its server block's
    /// `forward`, as in CoreDNS, where the rewrite happens inside that block.
    static func upstreamRequest(_ h: QueryProcessor.Handoff) -> UpstreamRequest {
        UpstreamRequest(question: h.targetQuestion, header: h.header, dnssecOK: h.edns?.dnssecOK ?? false,
                        questionBytes: h.questionBytes, routingName: h.rewrite?.original ?? h.target)
    }

    /// The client's reply from the upstreams' answer. Their response alone is copied from its
    /// cached bytes; around a prefix or a rewrite it is decoded and written with our answer.
    func compose(_ h: QueryProcessor.Handoff, _ upstream: UpstreamAnswer) -> Reply {
        let now = forwarder?.now() ?? Forwarder.uptime()
        let entry: CachedResponse, staleTTL: UInt32?
        switch upstream {
        case .response(let e, let stale):
            (entry, staleTTL) = (e, stale)
        case .failed:
            // Autopath: the bare name's existence is unknown, so no CNAME to it.
            if h.searchPlain != nil { return searchFailed(h) }
            var answer = h.prefix ?? Answer.error(.servFail)
            answer.rcode = .servFail
            answer.recursionAvailable = true
            return reply(h, answer)
        }
        guard h.prefix != nil || h.rewrite != nil else {
            let bytes = entry.reply(to: h.header, questionBytes: h.questionBytes, edns: processor.replyEDNS(h.edns, rcode: entry.rcode),
                                    limit: h.limit, now: now, staleTTL: staleTTL)
            return Reply(bytes: bytes, info: QueryProcessor.ReplyInfo(rcode: entry.rcode, question: h.question, zone: nil))
        }
        // A rewritten question: the records are decoded so that `reply` writes them back.
        var answer = h.prefix ?? Answer(rcode: .noError, authoritative: false)
        if let plain = h.searchPlain {
            // Autopath's last step: the bare name exists upstream → our CNAME to it, living no
            // longer than what it leads to; it does not → the asked name's own NXDOMAIN; the
            // upstream failed → SERVFAIL (the client tries its next search domain).
            guard let m = entry.decoded(now, staleTTL: staleTTL), m.rcode == .noError || m.rcode == .nxDomain else {
                return searchFailed(h)
            }
            guard m.rcode == .noError else {
                processor.searchCounters.miss()
                return reply(h, plain)
            }
            processor.searchCounters.hit(saving: 3)
            if !answer.answer.isEmpty, !answer.answer[0].isEmpty {
                answer.answer[0][0].ttl = Responder.cnameTTL(answer.answer[0][0].ttl, answers: m.answers, authority: m.authority)
            }
        }
        // An ExternalName: our CNAME chain, then what the target resolved to (D12, coredns-kubernetes §3.3).
        answer.recursionAvailable = true
        if let m = entry.decoded(now, staleTTL: staleTTL) {
            answer.rcode = m.rcode
            if !m.answers.isEmpty { answer.answer.append(m.answers) }
            answer.authority = m.authority.isEmpty ? [] : [m.authority]
            if h.prefix == nil, !m.additional.isEmpty { answer.additional = [m.additional] }
        } else {
            answer.rcode = .servFail
        }
        return reply(h, answer)
    }

    /// Autopath's upstream step failed: SERVFAIL, so the client tries its next search domain.
    func searchFailed(_ h: QueryProcessor.Handoff) -> Reply {
        processor.searchCounters.miss()
        var failed = Answer.error(.servFail)
        failed.recursionAvailable = true
        return reply(h, failed)
    }

    func reply(_ h: QueryProcessor.Handoff, _ answer: Answer) -> Reply {
        let (bytes, info) = processor.reply(to: h, with: answer)
        return Reply(bytes: bytes, info: info)
    }
}
