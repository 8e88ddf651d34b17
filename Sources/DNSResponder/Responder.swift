import DNSWire
import RecordIndex

/// The Kubernetes DNS schema as a function: question + snapshot → answer. Synchronous, no I/O,
/// never throws, never logs. Everything that can be decided when data loads already was (the
/// snapshot holds empty non-terminals, SRV sets and their additional records), so this is a
/// zone match, a dictionary lookup and at most a short CNAME chase.
public enum Responder {
    /// RFC 1034 §3.6.2 allows chains; CoreDNS caps them at 10 (D12).
    static let maxChain = 10

    public static func answer(_ q: Question, in snapshot: Snapshot) -> Answer {
        guard let zone = snapshot.zone(for: q.name) else {
            // D16: not ours and no forwarding → REFUSED, as authoritative servers do.
            return .error(.refused)
        }
        var answer = decide(q, zone, snapshot)
        answer.zone = zone.apex
        return answer
    }

    static func decide(_ q: Question, _ start: Zone, _ snapshot: Snapshot) -> Answer {
        var zone = start
        switch q.type {
        case .axfr, .ixfr:
            // No zone transfers are offered (RFC 5936 §4.2 allows refusing).
            return .error(.refused)
        case .maila, .mailb, .tkey, .tsig:
            return .error(.notImp)
        case .opt:
            return .error(.formErr)
        default:
            break
        }

        var result = Answer(rcode: .noError, authoritative: true)
        var name = q.name
        var chased: [DNSName] = []
        while true {
            guard let node = zone.nodes[name] else {
                if let synthesized = podRecord(name, q.type, zone) {
                    switch synthesized {
                    case .records(let rr): result.answer.append(rr)
                    case .noData: result.authority.append([zone.soa])
                    }
                    return result
                }
                // D18: before the first sync a missing name may yet exist.
                guard zone.synced else { return .error(.servFail) }
                // RFC 6604: after a CNAME the rcode is the final name's.
                result.rcode = .nxDomain
                result.authority.append([zone.soa])
                return result
            }
            if q.type != .cname, let cname = node.rrset(.cname), case .cname(let target) = cname.records[0].rdata {
                result.answer.append(cname.records)
                chased.append(name)
                // D12: chase in-zone targets; cut loops and long chains; an out-of-zone target is
                // left for the client (no forwarding yet).
                guard chased.count < maxChain, !chased.contains(target), let next = snapshot.zone(for: target) else {
                    return result
                }
                zone = next
                name = target
                continue
            }
            if q.type == .any {
                // RFC 8482: one RRset is a complete answer to ANY.
                if let first = node.rrsets.first {
                    result.answer.append(first.records)
                } else {
                    result.authority.append([zone.soa])
                }
                return result
            }
            if let set = node.rrset(q.type) {
                result.answer.append(set.records)
                if !set.additional.isEmpty { result.additional.append(set.additional) }
            } else {
                // D1: the name exists, the type does not → NODATA with the SOA (D2).
                result.authority.append([zone.soa])
            }
            return result
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
