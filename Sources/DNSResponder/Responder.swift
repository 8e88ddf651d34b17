import DNSWire
import RecordIndex

/// The Kubernetes DNS schema as a function: question + snapshot → answer. Synchronous, no I/O,
/// never throws, never logs. Everything that can be decided when data loads already was (the
/// snapshot holds empty non-terminals, SRV sets and their additional records), so this is a
/// zone match, a dictionary lookup and at most a short CNAME chase.
public enum Responder {
    /// RFC 1034 §3.6.2 allows chains; CoreDNS caps them at 10 (D12).
    static let maxChain = 10

    /// What to do with a question: answer it from the snapshot, or resolve a name upstream.
    public enum Resolution: Sendable, Equatable {
        case answer(Answer)
        /// Resolve `target` upstream (same type and class as the question). `prefix` is the CNAME
        /// chain already answered from our zones (an ExternalName), put before what comes back.
        case forward(target: DNSName, prefix: Answer?)
        /// Autopath's last step (`autopath`): resolve `target` upstream; when it exists, `prefix`
        /// (the CNAME from the asked name) then its answer, else `plain`, the asked name's own
        /// answer (SERVFAIL when the upstream fails).
        case forwardSearch(target: DNSName, prefix: Answer, plain: Answer)
    }

    /// The answer when nothing is forwarded: REFUSED outside our zones (D16), an out-of-zone
    /// CNAME target left for the client (D12).
    public static func answer(_ q: Question, in snapshot: Snapshot) -> Answer {
        switch resolve(q, in: snapshot, forwarding: false) {
        case .answer(let a): return a
        case .forward, .forwardSearch: return .error(.refused)  // not reached without forwarding
        }
    }

    /// With `forwarding`, names outside our zones, out-of-zone ExternalName targets and reverse
    /// names we hold no PTR for (kubeadm's `fallthrough in-addr.arpa ip6.arpa`, D15) go upstream.
    /// The cluster zones themselves never do. Without `reverseFallthrough` a reverse name we hold
    /// no PTR for is NXDOMAIN (a Corefile whose kubernetes plugin does not fall through there).
    public static func resolve(_ q: Question, in snapshot: Snapshot, forwarding: Bool, reverseFallthrough: Bool = true) -> Resolution {
        guard let zone = snapshot.zone(for: q.name) else {
            // D16: not ours → forwarded, or REFUSED as authoritative servers do.
            return forwarding ? .forward(target: q.name, prefix: nil) : .answer(.error(.refused))
        }
        switch decide(q, zone, snapshot, forwarding: forwarding && (reverseFallthrough || zone.kind != .reverse)) {
        case .answer(var answer):
            answer.zone = zone.apex
            return .answer(answer)
        case .forward(let target, var prefix):
            prefix?.zone = zone.apex
            return .forward(target: target, prefix: prefix)
        case .forwardSearch:
            return .answer(.error(.servFail))  // `decide` does not walk search paths
        }
    }

    static func decide(_ q: Question, _ start: Zone, _ snapshot: Snapshot, forwarding: Bool) -> Resolution {
        var zone = start
        switch q.type {
        case .axfr, .ixfr:
            // No zone transfers are offered (RFC 5936 §4.2 allows refusing).
            return .answer(.error(.refused))
        case .maila, .mailb, .tkey, .tsig:
            return .answer(.error(.notImp))
        case .opt:
            return .answer(.error(.formErr))
        default:
            break
        }

        var result = Answer(rcode: .noError, authoritative: true)
        var name = q.name
        var chased: [DNSName] = []
        while true {
            guard let node = zone.node(name) else {
                if let synthesized = podRecord(name, q.type, zone) {
                    switch synthesized {
                    case .records(let rr): result.answer.append(rr)
                    case .noData: result.authority.append([zone.soa])
                    }
                    return .answer(result)
                }
                // D18: before the first sync a missing name may yet exist.
                guard zone.synced else { return .answer(.error(.servFail)) }
                if forwarding, zone.kind == .reverse, chased.isEmpty {
                    return .forward(target: name, prefix: nil)
                }
                // RFC 6604: after a CNAME the rcode is the final name's.
                result.rcode = .nxDomain
                result.authority.append([zone.soa])
                return .answer(result)
            }
            if q.type != .cname, let cname = node.rrset(.cname, owner: name), case .cname(let target) = cname.records[0].rdata {
                result.answer.append(cname.records)
                chased.append(name)
                // D12: chase in-zone targets; cut loops and long chains. An out-of-zone target is
                // resolved upstream when forwarding, else left for the client.
                guard chased.count < maxChain, !chased.contains(target) else { return .answer(result) }
                guard let next = snapshot.zone(for: target) else {
                    return forwarding ? .forward(target: target, prefix: result) : .answer(result)
                }
                zone = next
                name = target
                continue
            }
            if q.type == .any {
                // RFC 8482: one RRset is a complete answer to ANY.
                if let first = node.firstRRSet(owner: name) {
                    result.answer.append(first.records)
                } else {
                    result.authority.append([zone.soa])
                }
                return .answer(result)
            }
            if let set = node.rrset(q.type, owner: name) {
                result.answer.append(set.records)
                if !set.additional.isEmpty { result.additional.append(set.additional) }
            } else {
                // D1: the name exists, the type does not → NODATA with the SOA (D2).
                result.authority.append([zone.soa])
            }
            return .answer(result)
        }
    }

    enum Synthesized {
        case records([ResourceRecord])
        case noData
    }

    /// `pods insecure` (coredns-kubernetes.md §3.6): `<dashed-ip>.<ns>.pod.<zone>` answers the IP
    /// it spells when the namespace exists and is exposed. Nothing to precompute: any IP works.
    static func podRecord(_ name: DNSName, _ type: RecordType, _ zone: Zone) -> Synthesized? {
        guard let namespaces = zone.insecurePodNamespaces, name.labelsAbove(zone.apex) == 3 else { return nil }
        let labels = name.labels
        guard String(decoding: labels[2], as: UTF8.self).lowercased() == "pod",
              namespaces.contains(String(decoding: labels[1], as: UTF8.self).lowercased()),
              let ip = EndpointName.parseDashed(String(decoding: labels[0], as: UTF8.self).lowercased()) else { return nil }
        let wanted: RecordType = ip.isIPv4 ? .a : .aaaa
        guard type == wanted || type == .any else { return .noData }
        return .records([ResourceRecord(name: name, ttl: zone.ttl, rdata: ip.isIPv4 ? .a(ip) : .aaaa(ip))])
    }
}
