import DNSWire

/// Accumulates records by owner and type while a zone is built, then closes it: duplicate
/// records removed, empty non-terminals added between every name and the apex.
struct NodeTable {
    private(set) var sets: [DNSName: [RRSet]] = [:]

    mutating func add(_ rr: ResourceRecord, additional: [ResourceRecord] = []) {
        add([rr], additional: additional)
    }

    /// Adds records of one owner and type, with the additional records their answer carries.
    /// Mutates the stored set in place: no copy of a growing RRset per record.
    mutating func add(_ records: [ResourceRecord], additional: [ResourceRecord]) {
        guard let first = records.first else { return }
        sets[first.name, default: []].merge(records, additional: additional)
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
            out[name] = Node(name: name, rrsets: list)
        }
        for name in sets.keys {
            var p = name
            while p != apex && !p.isRoot {
                p = p.parent
                if out[p] == nil { out[p] = Node(name: p) } else { break }
            }
        }
        out[apex] = out[apex] ?? Node(name: apex)
        return out
    }
}

extension Array where Element == RRSet {
    mutating func merge(_ records: [ResourceRecord], additional: [ResourceRecord]) {
        let type = records[0].type
        guard let i = firstIndex(where: { $0.type == type }) else {
            append(RRSet(type: type, records: records, additional: additional))
            return
        }
        for rr in records where !self[i].records.contains(where: { $0.rdata == rr.rdata }) {
            self[i].records.append(rr)
        }
        for extra in additional where !self[i].additional.contains(extra) {
            self[i].additional.append(extra)
        }
    }
}
