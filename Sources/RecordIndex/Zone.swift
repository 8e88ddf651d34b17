import DNSWire
import HashTreeCollections

/// The records one name owns, grouped by type, with the additional-section records an answer of
/// that type carries (SRV target addresses, NS glue) worked out when the snapshot was built.
public struct RRSet: Sendable, Hashable {
    public var type: RecordType
    public var records: [ResourceRecord]
    public var additional: [ResourceRecord]

    public init(type: RecordType, records: [ResourceRecord], additional: [ResourceRecord] = []) {
        self.type = type
        self.records = records
        self.additional = additional
    }
}

/// A name that exists. An empty `rrsets` is an empty non-terminal: it exists, so every query at
/// it is NODATA, never NXDOMAIN (RFC 8020, spec D1).
public struct Node: Sendable, Hashable {
    public var rrsets: [RRSet]

    public init(rrsets: [RRSet] = []) { self.rrsets = rrsets }

    public func rrset(_ type: RecordType) -> RRSet? {
        for set in rrsets where set.type == type { return set }
        return nil
    }
}

/// One zone we are authoritative for.
public struct Zone: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A cluster domain (`cluster.local`): the Kubernetes schema.
        case cluster
        /// `in-addr.arpa`, `ip6.arpa` or narrower: PTRs for ClusterIPs and endpoints.
        case reverse
        /// Loaded from an RFC 1035 zone file.
        case file(path: String)
    }

    /// How `<ip>.<ns>.pod.<zone>` names are answered (CoreDNS `pods`, coredns-kubernetes.md §3.6).
    public enum PodRecords: String, Sendable, CaseIterable {
        case disabled, insecure, verified
    }

    public let apex: DNSName
    public let kind: Kind
    /// The SOA record (owner = apex) used in answers and in the authority of negative answers.
    public let soa: ResourceRecord
    /// Every name that exists, with its records. Persistent: a snapshot built from the previous
    /// one shares every node an update did not touch.
    public let nodes: TreeDictionary<DNSName, Node>
    /// For `insecure` pod records, answered from the name itself: the exposed namespaces.
    public let insecurePodNamespaces: Set<String>?
    /// TTL of generated records; used for synthesised pod answers.
    public let ttl: UInt32
    /// False until the source that feeds this zone has synced: negative answers become SERVFAIL
    /// (spec D18).
    public let synced: Bool
    /// Records by type, for `clusterdns_index_records`; kept by the builder, not recounted.
    public let recordsByType: [RecordType: Int]

    public init(apex: DNSName, kind: Kind, soa: ResourceRecord, nodes: TreeDictionary<DNSName, Node>, insecurePodNamespaces: Set<String>? = nil,
                ttl: UInt32, synced: Bool = true, recordsByType: [RecordType: Int]? = nil) {
        self.apex = apex
        self.kind = kind
        self.soa = soa
        self.nodes = nodes
        self.insecurePodNamespaces = insecurePodNamespaces
        self.ttl = ttl
        self.synced = synced
        self.recordsByType = recordsByType ?? nodes.values.reduce(into: [:]) { counts, node in
            for set in node.rrsets { counts[set.type, default: 0] += set.records.count }
        }
    }

    /// Every record of the zone in name order: what `clusterdns check` prints.
    public func allRecords() -> [ResourceRecord] {
        let names = nodes.keys.sorted { Zone.canonicalLess($0, $1) }
        var out: [ResourceRecord] = []
        for name in names {
            for set in nodes[name]!.rrsets { out += set.records }
        }
        return out
    }

    /// RFC 4034 §6.1 canonical order: compare labels right to left, case-folded.
    static func canonicalLess(_ a: DNSName, _ b: DNSName) -> Bool {
        let la = a.lowercased().labels.reversed().map(Array.init)
        let lb = b.lowercased().labels.reversed().map(Array.init)
        for (x, y) in zip(la, lb) where x != y {
            return x.lexicographicallyPrecedes(y)
        }
        return la.count < lb.count
    }
}
