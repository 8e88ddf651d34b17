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

/// A name that exists, with its records, held as one buffer in wire form: the owner name,
/// then each RRset's records (owner left out: it is the node's) and the additional records its
/// answer carries. One allocation per name, and the bytes a reply copies. An empty node is an
/// empty non-terminal: it exists, so every query at it is NODATA, never NXDOMAIN (RFC 8020,
/// spec D1).
///
/// Layout: `[owner length][owner]` `[RRset count]`, then per RRset `[type u16][records u16]
/// [additional u16][bytes u32]` followed by the records (each a whole RR whose owner is the
/// root, to be replaced by the node's) and the additional records (whole RRs), all names
/// uncompressed.
public struct Node: Sendable, Hashable {
    public let wire: [UInt8]

    /// Records kept per RRset: a message holds at most 65,535 in a section (RFC 1035 §4.1.1
    /// counts are 16 bits), so more could never be answered; a headless Service with more
    /// ready endpoints than that serves the first ones.
    public static let maxRecordsPerSet = 65_535

    public init(name: DNSName, rrsets: [RRSet] = []) {
        func fits(_ set: RRSet) -> Bool {
            set.records.count <= Node.maxRecordsPerSet && set.additional.count <= Node.maxRecordsPerSet
        }
        // Clamped only when over a limit: not a new array of sets for every node of a build.
        let rrsets = rrsets.count <= 255 && rrsets.allSatisfy(fits) ? rrsets : rrsets.prefix(255).map { set -> RRSet in
            guard !fits(set) else { return set }
            return RRSet(type: set.type, records: Array(set.records.prefix(Node.maxRecordsPerSet)),
                         additional: Array(set.additional.prefix(Node.maxRecordsPerSet)))
        }
        var size = 2 + name.wire.count
        for set in rrsets {
            size += 10
            for rr in set.records { size += 11 + rr.rdata.uncompressedSize }
            for rr in set.additional { size += 10 + rr.name.wire.count + rr.rdata.uncompressedSize }
        }
        var w: [UInt8] = []
        w.reserveCapacity(size)
        w.append(UInt8(name.wire.count))
        w += name.wire
        w.append(UInt8(rrsets.count))
        for set in rrsets {
            func u16(_ v: Int) { w.append(UInt8(truncatingIfNeeded: v >> 8)); w.append(UInt8(truncatingIfNeeded: v)) }
            u16(Int(set.type.rawValue))
            u16(set.records.count)
            u16(set.additional.count)
            u16(0)
            u16(0)
            let start = w.count
            for rr in set.records { rr.appendUncompressed(to: &w, owner: false) }
            for rr in set.additional { rr.appendUncompressed(to: &w) }
            let n = w.count - start
            w[start - 4] = UInt8(truncatingIfNeeded: n >> 24)
            w[start - 3] = UInt8(truncatingIfNeeded: n >> 16)
            w[start - 2] = UInt8(truncatingIfNeeded: n >> 8)
            w[start - 1] = UInt8(truncatingIfNeeded: n)
        }
        wire = w
    }

    /// The owner, as it was built.
    public var name: DNSName { DNSName(validatedWire: Array(wire[1..<(1 + Int(wire[0]))])) }

    /// True when the owner equals `name`, ignoring case. No allocation.
    func owned(by name: DNSName) -> Bool {
        let n = Int(wire[0])
        guard n == name.wire.count else { return false }
        for i in 0..<n where DNSName.fold(wire[1 + i]) != DNSName.fold(name.wire[i]) { return false }
        return true
    }

    /// Where one RRset lies in `wire`: its records (each starting with a one-byte placeholder
    /// owner), then its additional records (whole), all uncompressed.
    public typealias Header = (type: RecordType, records: Int, additional: Int, body: Range<Int>)

    /// The owner's bytes in `wire`.
    public var ownerRange: Range<Int> { 1..<(1 + Int(wire[0])) }

    /// Calls `body` with the node's bytes (for `Header` ranges and `ownerRange`).
    @inlinable
    public func withWire<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try wire.withUnsafeBytes(body)
    }

    /// The RRset of `type`, as a range of `wire`. No allocation.
    public func set(_ type: RecordType) -> Header? { header(where: { $0 == type }) }

    /// The first RRset built, as a range of `wire`.
    public var firstSet: Header? { header(where: { _ in true }) }

    /// True when the owner equals the name in `bytes[range]`, ignoring case. No allocation.
    func owned(by bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        wire.withUnsafeBytes { DNSName.equalFolded($0, ownerRange, bytes, range) }
    }

    /// Calls `body` with each RRset's header until it returns false. No allocation.
    func eachHeader(_ body: (Header) -> Bool) {
        var i = 1 + Int(wire[0])
        let count = Int(wire[i])
        i += 1
        for _ in 0..<count {
            let type = RecordType(rawValue: UInt16(wire[i]) << 8 | UInt16(wire[i + 1]))
            let records = Int(wire[i + 2]) << 8 | Int(wire[i + 3])
            let additional = Int(wire[i + 4]) << 8 | Int(wire[i + 5])
            let length = Int(wire[i + 6]) << 24 | Int(wire[i + 7]) << 16 | Int(wire[i + 8]) << 8 | Int(wire[i + 9])
            i += 10
            guard body((type, records, additional, i..<(i + length))) else { return }
            i += length
        }
    }

    private func header(where match: (RecordType) -> Bool) -> Header? {
        var found: Header?
        eachHeader { h in
            if match(h.type) { found = h; return false }
            return true
        }
        return found
    }

    public var isEmpty: Bool { wire[1 + Int(wire[0])] == 0 }

    /// Records by type, read from the headers alone.
    public var recordCounts: [(RecordType, Int)] {
        var out: [(RecordType, Int)] = []
        eachHeader { out.append(($0.type, $0.records)); return true }
        return out
    }

    /// The RRset of `type`, its records owned by `owner` (the question's name, which equals the
    /// node's; pass nil for the node's own spelling).
    public func rrset(_ type: RecordType, owner: DNSName? = nil) -> RRSet? {
        guard let h = header(where: { $0 == type }) else { return nil }
        return decode(h, owner: owner ?? name)
    }

    /// The first RRset built (RFC 8482: one RRset answers ANY).
    public func firstRRSet(owner: DNSName? = nil) -> RRSet? {
        header(where: { _ in true }).map { decode($0, owner: owner ?? name) }
    }

    /// Every RRset, in the order they were built.
    public var rrsets: [RRSet] {
        let owner = name
        var out: [RRSet] = []
        eachHeader { out.append(decode($0, owner: owner)); return true }
        return out
    }

    /// Reads an RRset back. The types the index writes are read directly (a name costs its one
    /// array, an IPv4 address nothing); any other type goes through the wire reader.
    private func decode(_ h: Header, owner: DNSName) -> RRSet {
        var records: [ResourceRecord] = []
        var additional: [ResourceRecord] = []
        records.reserveCapacity(h.records)
        var i = h.body.lowerBound
        for k in 0..<(h.records + h.additional) {
            let start = i
            let rrOwner: DNSName
            if k < h.records {
                rrOwner = owner
                i += 1  // the root written in place of the owner
            } else {
                rrOwner = name(at: &i)
            }
            let type = RecordType(rawValue: u16(i))
            let cls = RecordClass(rawValue: u16(i + 2))
            let ttl = UInt32(u16(i + 4)) << 16 | UInt32(u16(i + 6))
            let length = Int(u16(i + 8))
            i += 10
            let end = i + length
            let rdata: RData
            switch type {
            case .a where length == 4:
                rdata = .a(.v4(wire[i], wire[i + 1], wire[i + 2], wire[i + 3]))
            case .ns, .cname, .ptr:
                var at = i
                let n = name(at: &at)
                rdata = type == .ns ? .ns(n) : type == .cname ? .cname(n) : .ptr(n)
            case .srv:
                var at = i + 6
                rdata = .srv(.init(priority: u16(i), weight: u16(i + 2), port: u16(i + 4), target: name(at: &at)))
            default:
                // Written by `init` from valid records: reading them back cannot fail.
                var reader = WireReader(wire, offset: start)
                guard case .record(let rr)? = try? reader.readEntry() else { i = end; continue }
                rdata = rr.rdata
            }
            i = end
            let rr = ResourceRecord(name: rrOwner, type: type, recordClass: cls, ttl: ttl, rdata: rdata)
            if k < h.records { records.append(rr) } else { additional.append(rr) }
        }
        return RRSet(type: h.type, records: records, additional: additional)
    }

    private func u16(_ i: Int) -> UInt16 { UInt16(wire[i]) << 8 | UInt16(wire[i + 1]) }

    /// The uncompressed name at `i`, advancing past it.
    private func name(at i: inout Int) -> DNSName {
        let start = i
        while wire[i] != 0 { i += Int(wire[i]) + 1 }
        i += 1
        return DNSName(validatedWire: Array(wire[start..<i]))
    }
}

/// The nodes of one zone: a persistent map (a snapshot built from the previous one shares every
/// node an update did not touch) keyed by the folded hash of the owner, so a key costs no
/// allocation and a lookup builds no name. Names whose hashes collide share a slot.
public struct NodeMap: Sendable, Equatable {
    private var tree = TreeDictionary<UInt64, OneOrMany<Node>>()
    /// Names in the map.
    public private(set) var count = 0

    public init() {}

    public init<S: Sequence>(_ nodes: S) where S.Element == Node {
        for node in nodes { self[node.name] = node }
    }

    public subscript(name: DNSName) -> Node? {
        get { node(HashedName(name)) }
        set { replace(HashedName(name), with: newValue) }
    }

    func node(_ name: HashedName) -> Node? {
        switch tree[name.hash] {
        case nil: return nil
        case .one(let n)?: return n.owned(by: name.name) ? n : nil
        case .many(let list)?: return list.first { $0.owned(by: name.name) }
        }
    }

    /// Sets (or with nil removes) the node of `name` and returns the one it replaced, in one
    /// walk of the tree: at 240,000 names each walk is a few cache misses, and building a
    /// cluster's index is mostly these.
    @discardableResult
    public mutating func replace(_ name: DNSName, with newValue: Node?) -> Node? {
        replace(HashedName(name), with: newValue)
    }

    @discardableResult
    mutating func replace(_ hashed: HashedName, with newValue: Node?) -> Node? {
        let name = hashed.name
        let old: Node? = tree.updateValue(forKey: hashed.hash) { slot in
            // The common cases without a list: an empty slot, or one holding this name.
            switch slot {
            case nil:
                slot = newValue.map { .one($0) }
                return nil
            case .one(let n)? where n.owned(by: name):
                slot = newValue.map { .one($0) }
                return n
            case let other?:
                var list = other.all
                let old = list.firstIndex { $0.owned(by: name) }.map { list.remove(at: $0) }
                if let newValue { list.append(newValue) }
                slot = OneOrMany(list)
                return old
            }
        }
        count += (newValue == nil ? 0 : 1) - (old == nil ? 0 : 1)
        return old
    }

    /// The node owning the uncompressed name in `bytes[range]`, whose `foldedHash` is `hash`:
    /// a lookup straight from a received question, building no name.
    public func node(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, hash: UInt64) -> Node? {
        switch tree[hash] {
        case nil: return nil
        case .one(let n)?: return n.owned(by: bytes, range) ? n : nil
        case .many(let list)?: return list.first { $0.owned(by: bytes, range) }
        }
    }

    /// Removes the nodes stored under `hash` that `remove` picks; returns how many went.
    @discardableResult
    mutating func removeNodes(hash: UInt64, where remove: (Node) -> Bool) -> [Node] {
        guard let list = tree[hash]?.all else { return [] }
        let gone = list.filter(remove)
        guard !gone.isEmpty else { return [] }
        count -= gone.count
        tree[hash] = OneOrMany(list.filter { !remove($0) })
        return gone
    }

    /// Every node, in no particular order.
    public var all: [Node] { tree.values.flatMap(\.all) }
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
    public let nodes: NodeMap
    /// For `insecure` pod records, answered from the name itself: the exposed namespaces.
    public let insecurePodNamespaces: Set<String>?
    /// TTL of generated records; used for synthesised pod answers.
    public let ttl: UInt32
    /// False until the source that feeds this zone has synced: negative answers become SERVFAIL
    /// (spec D18).
    public let synced: Bool
    /// Records by type, for `clusterdns_index_records`; kept by the builder, not recounted.
    public let recordsByType: [RecordType: Int]
    /// `soa` in uncompressed wire form, owner included: what a negative answer copies.
    public let soaWire: [UInt8]
    /// A reverse zone's PTRs, which are not in `nodes` (`PTRTable`): the table is shared by every
    /// reverse zone, each serving the addresses whose names fall below its apex.
    public let ptrs: PTRTable?
    /// Names of `ptrs` below the apex.
    let ptrNames: Int

    public init(apex: DNSName, kind: Kind, soa: ResourceRecord, nodes: NodeMap, insecurePodNamespaces: Set<String>? = nil,
                ttl: UInt32, synced: Bool = true, recordsByType: [RecordType: Int]? = nil, ptrs: PTRTable? = nil, ptrNames: Int = 0) {
        self.apex = apex
        self.kind = kind
        self.soa = soa
        self.nodes = nodes
        self.ptrs = ptrs
        self.ptrNames = ptrNames
        self.insecurePodNamespaces = insecurePodNamespaces
        self.ttl = ttl
        self.synced = synced
        var soaWire: [UInt8] = []
        soa.appendUncompressed(to: &soaWire)
        self.soaWire = soaWire
        self.recordsByType = recordsByType ?? nodes.all.reduce(into: [:]) { counts, node in
            for (type, n) in node.recordCounts { counts[type, default: 0] += n }
        }
    }

    /// The node of `name`, which must be in this zone: from `nodes`, or a PTR built from `ptrs`.
    public func node(_ name: DNSName) -> Node? {
        if let node = nodes[name] { return node }
        guard let ptrs, name != apex, let key = PTRTable.Key(reverseName: name) else { return nil }
        return ptrs.node(for: key, name: key.address.reverseName)
    }

    /// Whether `ptrs` has the name in `bytes[range]` (below the apex, not in `nodes`).
    public func hasPTR(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard let ptrs, let key = PTRTable.Key(reverseName: bytes, range) else { return false }
        return ptrs.entries[key] != nil
    }

    /// Names that exist in the zone.
    public var nameCount: Int { nodes.count + ptrNames }

    /// Every node of the zone, PTRs built, in no particular order (`check` and tests).
    public var allNodes: [Node] {
        guard let ptrs else { return nodes.all }
        return nodes.all + ptrs.addresses.compactMap { ip in
            let name = ip.reverseName
            guard name != apex, name.isSubdomain(of: apex) else { return nil }
            return ptrs.node(for: PTRTable.Key(ip), name: name)
        }
    }

    /// Every record of the zone in name order: what `clusterdns check` prints.
    public func allRecords() -> [ResourceRecord] {
        let sorted = allNodes.sorted { Zone.canonicalLess($0.name, $1.name) }
        var out: [ResourceRecord] = []
        for node in sorted {
            for set in node.rrsets { out += set.records }
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
