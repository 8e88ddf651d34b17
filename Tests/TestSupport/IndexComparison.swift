import DNSResponder
import DNSWire
import RecordIndex

/// Issue 11's oracle: an incrementally kept index against a from-scratch build of the same
/// objects. Shared by IncrementalIndexTests and the `index` fuzz target.
public enum IndexComparison {
    /// How two publishes differ: stats, every node of every zone, record counts, pod namespaces,
    /// and the answers as a client sees them (every name, its parents and a child that may not
    /// exist, for A and for TXT: NODATA vs NXDOMAIN). Empty when they are the same.
    public static func differences(_ a: (zones: [Zone], stats: Snapshot.Stats), _ b: (zones: [Zone], stats: Snapshot.Stats)) -> [String] {
        var out: [String] = []
        if a.stats != b.stats { out.append("stats \(a.stats) vs \(b.stats)") }
        guard a.zones.count == b.zones.count else { return out + ["\(a.zones.count) zones vs \(b.zones.count)"] }
        for (za, zb) in zip(a.zones, b.zones) {
            let names = Set(za.allNodes.map(\.name)).union(zb.allNodes.map(\.name))
            for name in names where za.node(name) != zb.node(name) {
                out.append("\(name) is \(String(describing: za.node(name)?.rrsets)) incrementally, \(String(describing: zb.node(name)?.rrsets)) from scratch")
            }
            if za.nameCount != zb.nameCount { out.append("names of \(za.apex): \(za.nameCount) vs \(zb.nameCount)") }
            if za.recordsByType != zb.recordsByType { out.append("record counts of \(za.apex): \(za.recordsByType) vs \(zb.recordsByType)") }
            if za.insecurePodNamespaces != zb.insecurePodNamespaces {
                out.append("pod namespaces of \(za.apex): \(String(describing: za.insecurePodNamespaces)) vs \(String(describing: zb.insecurePodNamespaces))")
            }
        }
        let sa = Snapshot(zones: a.zones, stats: a.stats), sb = Snapshot(zones: b.zones, stats: b.stats)
        var asked = Set<DNSName>()
        for zone in a.zones + b.zones {
            for name in zone.allNodes.map(\.name) {
                var p = name
                while !p.isRoot && asked.insert(p).inserted { p = p.parent }
                if let child = try? DNSName(labels: ["x"], suffix: name) { asked.insert(child) }
            }
        }
        for name in asked {
            for type in [RecordType.a, .txt] {
                let q = Question(name: name, type: type)
                let (x, y) = (Responder.answer(q, in: sa), Responder.answer(q, in: sb))
                if x != y { out.append("\(name) \(type) answers differ: \(x.rcode) vs \(y.rcode)") }
            }
        }
        return out
    }
}
