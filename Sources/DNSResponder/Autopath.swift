import DNSWire
import RecordIndex

/// Autopath (CoreDNS's `autopath @kubernetes`): a pod's resolv.conf says `search NS.svc.ZONE
/// svc.ZONE ZONE` with `ndots:5`, so its first question for `api.example.com` is
/// `api.example.com.NS.svc.ZONE`. When that name does not exist and the client is known to be in
/// NS, the server walks the rest of the search path itself — `X.svc.ZONE`, `X.ZONE`, then `X`
/// (ours, or upstream) — and answers the first name that exists: a CNAME from the asked name to
/// it, then its answer with its rcode (RFC 6604) and authority. The client's walk ends at its
/// first question instead of its fourth.
///
/// When nothing exists, the asked name's own NXDOMAIN stands (as in CoreDNS): it is true, and
/// the client goes on as it would have. An upstream that fails gives SERVFAIL, which resolvers
/// (glibc, musl) treat as "try the next search domain", never a wrong NXDOMAIN.
extension Responder {
    /// The walk's result, and how many questions of the client's search path it spares (1 when
    /// `X.svc.ZONE` answered, 2 for `X.ZONE`, 3 for `X`).
    public struct Search: Sendable, Equatable {
        public var resolution: Resolution
        public var saved: Int
    }

    /// The search path of a client in `namespace`, walked for `q` whose own answer was `plain`.
    /// Nil when `q` is not that client's first search name, or is a name that exists. When the
    /// walk finds nothing, `plain` with `saved` 0. `recursion`: the client asked for it (RD), so
    /// the last step may go upstream.
    public static func autopath(_ q: Question, plain: Answer, namespace: String, recursion: Bool, in snapshot: Snapshot,
                                forwarding: Bool) -> Search? {
        // Only a name that does not exist (no CNAME at it either) is walked.
        guard plain.rcode == .nxDomain, plain.answer.isEmpty,
              let zone = snapshot.zone(for: q.name), zone.kind == .cluster,
              let svc = try? DNSName(labels: ["svc"], suffix: zone.apex),
              let first = try? DNSName(labels: [namespace], suffix: svc),
              zone.nodes[first] != nil,  // the namespace exists (D11)
              q.name.isSubdomain(of: first), q.name.labelCount > first.labelCount else { return nil }
        // X: the labels before `NS.svc.ZONE`, as the client spelled them.
        let x = q.name.wire[0..<(q.name.wire.count - first.wire.count)]
        func below(_ suffix: DNSName) -> DNSName? {
            // A name over 255 bytes cannot exist: that step finds nothing.
            guard x.count + suffix.wire.count <= 255 else { return nil }
            return DNSName(validatedWire: Array(x) + suffix.wire)
        }
        for (saved, suffix) in [(1, svc), (2, zone.apex)] {
            guard let candidate = below(suffix) else { continue }
            if let found = attempt(q, candidate, zone, snapshot, forwarding: forwarding) {
                return Search(resolution: found, saved: saved)
            }
        }
        // The name itself: ours when it falls in a zone we serve, else upstream through the cache.
        guard let bare = below(.root) else { return Search(resolution: .answer(plain), saved: 0) }
        let nothing = Search(resolution: .answer(plain), saved: 0)
        if snapshot.zone(for: bare) != nil {
            return attempt(q, bare, zone, snapshot, forwarding: forwarding).map { Search(resolution: $0, saved: 3) } ?? nothing
        }
        guard forwarding, recursion else { return nothing }
        var prefix = Answer(rcode: .noError, authoritative: true)
        prefix.zone = zone.apex
        prefix.answer = [[ResourceRecord(name: q.name, ttl: zone.ttl, rdata: .cname(bare))]]
        return Search(resolution: .forwardSearch(target: bare, prefix: prefix, plain: plain), saved: 3)
    }

    /// `candidate` answered from our zones, behind a CNAME from the asked name; nil when it does
    /// not exist (or cannot be told yet, before a sync).
    static func attempt(_ q: Question, _ candidate: DNSName, _ zone: Zone, _ snapshot: Snapshot, forwarding: Bool) -> Resolution? {
        let asked = Question(name: candidate, type: q.type, recordClass: q.recordClass)
        switch resolve(asked, in: snapshot, forwarding: forwarding) {
        case .answer(let a):
            guard !(a.rcode == .nxDomain && a.answer.isEmpty), a.rcode != .servFail else { return nil }
            return .answer(cnamed(q.name, to: candidate, a, ttl: zone.ttl, zone: zone.apex))
        case .forward(let target, let prefix):
            // An ExternalName out of our zones: our CNAME, its chain, then the upstream's answer.
            return .forward(target: target, prefix: cnamed(q.name, to: candidate, prefix ?? Answer(rcode: .noError, authoritative: true),
                                                           ttl: zone.ttl, zone: zone.apex))
        case .forwardSearch:
            return nil  // not returned by `resolve`
        }
    }

    /// The TTL of autopath's CNAME: at most `ceiling`, and no longer than what it leads to: the
    /// answer's records, else the authority's (the SOA that makes the answer negative).
    public static func cnameTTL(_ ceiling: UInt32, answers: [ResourceRecord], authority: [ResourceRecord]) -> UInt32 {
        min(ceiling, (answers.isEmpty ? authority : answers).map(\.ttl).min() ?? ceiling)
    }

    /// `answer` behind a CNAME `asked → found`. The CNAME lives no longer than what it leads to:
    /// the smallest TTL among the answer's records, else the SOA's that makes it negative.
    static func cnamed(_ asked: DNSName, to found: DNSName, _ answer: Answer, ttl: UInt32, zone: DNSName) -> Answer {
        var out = answer
        let ttl = cnameTTL(ttl, answers: Array(answer.answer.joined()), authority: Array(answer.authority.joined()))
        let cname = ResourceRecord(name: asked, ttl: ttl, rdata: .cname(found))
        out.answer = [[cname]] + answer.answer
        out.authoritative = true
        out.zone = zone
        return out
    }
}
