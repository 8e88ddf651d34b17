import DNSWire

extension Zone {
    /// A zone from master-file records (the `.zone` files of a zones directory): the SOA must be
    /// among them at the apex; names outside the apex are dropped by the caller.
    public static func fromRecords(apex: DNSName, kind: Kind, records: [ResourceRecord]) -> Zone? {
        guard let soa = records.first(where: { $0.type == .soa && $0.name == apex }) else { return nil }
        var t = NodeTable()
        for rr in records where rr.name.isSubdomain(of: apex) { t.add(rr) }
        let ttl: UInt32
        if case .soa(let s) = soa.rdata { ttl = s.minimum } else { ttl = soa.ttl }
        // Glue for NS and the additional addresses of in-zone targets, as an authoritative server adds them.
        var withGlue = t
        for sets in t.sets {
            for set in sets where set.type == .ns || set.type == .srv {
                let targets: [DNSName] = set.records.compactMap {
                    switch $0.rdata {
                    case .ns(let n): return n
                    case .srv(let s): return s.target
                    default: return nil
                    }
                }
                let glue = targets.flatMap { t.records($0, .a) + t.records($0, .aaaa) }
                if !glue.isEmpty, let first = set.records.first { withGlue.add(first, additional: glue) }
            }
        }
        return Zone(apex: apex, kind: kind, soa: soa, nodes: NodeMap(withGlue.close(apex: apex).nodes), ttl: ttl)
    }
}
