import DNSWire

/// Everything the server answers at one moment. Immutable: built off the query path, published
/// whole, read by a query through one reference (DESIGN.md, "pin one snapshot").
public final class Snapshot: Sendable {
    /// Zones ordered by apex length, longest first, so the first match is the closest enclosing zone.
    public let zones: [Zone]
    /// Counts for logs and metrics.
    public let stats: Stats
    /// Client address → namespace, for autopath; empty unless the index keeps it.
    public let clients: ClientNamespaces

    public struct Stats: Sendable, Equatable {
        public var services = 0
        public var endpoints = 0
        public var names = 0
        public var records = 0
        /// Records by type, for `clusterdns_index_records`.
        public var recordsByType: [RecordType: Int] = [:]
        public init() {}
    }

    public init(zones: [Zone], stats: Stats = Stats(), clients: ClientNamespaces = ClientNamespaces()) {
        self.zones = zones.sorted { $0.apex.wire.count > $1.apex.wire.count }
        self.clients = clients
        var s = stats
        s.names = 0
        s.records = 0
        s.recordsByType = [:]
        for zone in zones {
            s.names += zone.nameCount
            for (type, n) in zone.recordsByType {
                s.records += n
                s.recordsByType[type, default: 0] += n
            }
        }
        self.stats = s
    }

    public static let empty = Snapshot(zones: [])

    /// The closest enclosing zone of `name`, or nil when we are not authoritative for it.
    @inlinable
    public func zone(for name: DNSName) -> Zone? {
        for zone in zones where name.isSubdomain(of: zone.apex) { return zone }
        return nil
    }

    /// The closest enclosing zone of the uncompressed name in `bytes[range]` (a question read in
    /// place), and how many labels the name has above its apex.
    public func zone(for bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> (zone: Zone, depth: Int)? {
        for zone in zones {
            if let depth = DNSName.labelsAbove(bytes, range, zone.apex) { return (zone, depth) }
        }
        return nil
    }
}

extension Snapshot {
    /// The cluster and reverse zones plus zone files, where a zone file never replaces a zone
    /// built from cluster objects: such files come back in `ignored`, for the caller to report.
    public static func assemble(cluster: [Zone], files: [Zone], stats: Stats,
                                clients: ClientNamespaces = ClientNamespaces()) -> (snapshot: Snapshot, ignored: [Zone]) {
        let taken = Set(cluster.map(\.apex))
        let (ignored, kept) = (files.filter { taken.contains($0.apex) }, files.filter { !taken.contains($0.apex) })
        return (Snapshot(zones: cluster + kept, stats: stats, clients: clients), ignored)
    }
}
