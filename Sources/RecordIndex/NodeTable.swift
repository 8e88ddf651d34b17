import DNSWire

/// Accumulates records by owner and type while a zone is built, then closes it: duplicate
/// records removed, empty non-terminals added between every name and the apex.
struct NodeTable {
    private(set) var sets: [DNSName: [RRSet]] = [:]

    mutating func add(_ rr: ResourceRecord, additional: [ResourceRecord] = []) {
        var list = sets[rr.name, default: []]
        if let i = list.firstIndex(where: { $0.type == rr.type }) {
            if !list[i].records.contains(where: { $0.rdata == rr.rdata }) { list[i].records.append(rr) }
            for extra in additional where !list[i].additional.contains(extra) { list[i].additional.append(extra) }
        } else {
            list.append(RRSet(type: rr.type, records: [rr], additional: additional))
        }
        sets[rr.name] = list
    }

    /// Makes `name` exist with no records (an explicit empty non-terminal).
    mutating func touch(_ name: DNSName) {
        if sets[name] == nil { sets[name] = [] }
    }

    func contains(_ name: DNSName) -> Bool { sets[name] != nil }

    func records(_ name: DNSName, _ type: RecordType) -> [ResourceRecord] {
        sets[name]?.first { $0.type == type }?.records ?? []
    }

    /// The finished nodes, with every ancestor up to `apex` present.
    func nodes(apex: DNSName) -> [DNSName: Node] {
        var out: [DNSName: Node] = [:]
        out.reserveCapacity(sets.count * 2)
        for (name, list) in sets {
            out[name] = Node(rrsets: list)
        }
        for name in sets.keys {
            var p = name
            while p != apex && !p.isRoot {
                p = p.parent
                if out[p] == nil { out[p] = Node() } else { break }
            }
        }
        out[apex] = out[apex] ?? Node()
        return out
    }
}
