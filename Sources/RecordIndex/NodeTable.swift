import DNSWire

/// A name with its `foldedHash` worked out once: the key of the maps a build looks names up in
/// several times each (a first build of a large cluster spent a fifth of its time hashing the
/// same names again).
struct HashedName: Hashable {
    let name: DNSName
    let hash: UInt64

    init(_ name: DNSName) {
        self.name = name
        hash = name.foldedHash
    }

    static func == (a: HashedName, b: HashedName) -> Bool { a.hash == b.hash && a.name == b.name }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// Names in the order they were added, each found by its position: by a scan of their hashes
/// while there are few, through a map once there are more. A Service's table holds a dozen
/// names, and hashing each into a Dictionary cost more than comparing a dozen 8-byte hashes.
struct NameIndex {
    static let scanLimit = 16
    private(set) var names: [HashedName] = []
    /// Empty until there are more than `scanLimit` names.
    private var map: [HashedName: Int] = [:]

    init(capacity: Int = 0) {
        names.reserveCapacity(capacity)
    }

    var count: Int { names.count }

    func position(of name: HashedName) -> Int? {
        guard names.count > Self.scanLimit else { return names.firstIndex(of: name) }
        return map[name]
    }

    /// Adds `name`, which must not be in the index yet, at position `count`.
    mutating func append(_ name: HashedName) {
        names.append(name)
        guard names.count > Self.scanLimit else { return }
        if map.isEmpty {
            map.reserveCapacity(names.capacity)
            for (i, n) in names.enumerated() { map[n] = i }
        } else {
            map[name] = names.count - 1
        }
    }
}

/// Accumulates records by owner and type while a zone is built, then closes it: duplicate
/// records removed, empty non-terminals added between every name and the apex. Names keep the
/// order they were first added in.
struct NodeTable {
    private var index: NameIndex
    private(set) var sets: [[RRSet]] = []

    var names: [HashedName] { index.names }

    init() { index = NameIndex() }

    /// A table for about `capacity` names, empty non-terminals included.
    init(capacity: Int) {
        index = NameIndex(capacity: capacity)
        sets.reserveCapacity(capacity)
    }

    var isEmpty: Bool { index.count == 0 }

    mutating func add(_ rr: ResourceRecord, additional: [ResourceRecord] = []) {
        add([rr], additional: additional)
    }

    /// Adds records of one owner and type, with the additional records their answer carries.
    /// Mutates the stored set in place: no copy of a growing RRset per record.
    mutating func add(_ records: [ResourceRecord], additional: [ResourceRecord]) {
        guard let first = records.first else { return }
        add(records, additional: additional, owner: HashedName(first.name))
    }

    /// `add`, with the owner's hash already worked out.
    mutating func add(_ records: [ResourceRecord], additional: [ResourceRecord] = [], owner: HashedName) {
        sets[slot(owner)].merge(records, additional: additional)
    }

    /// Makes `name` exist with no records (an explicit empty non-terminal).
    mutating func touch(_ name: DNSName) {
        _ = slot(HashedName(name))
    }

    private mutating func slot(_ name: HashedName) -> Int {
        if let i = index.position(of: name) { return i }
        index.append(name)
        sets.append([])
        return index.count - 1
    }

    func sets(_ name: DNSName) -> [RRSet] {
        index.position(of: HashedName(name)).map { sets[$0] } ?? []
    }

    func records(_ name: DNSName, _ type: RecordType) -> [ResourceRecord] {
        sets(name).first { $0.type == type }?.records ?? []
    }

    /// The finished nodes, with every ancestor up to `apex` present (added to the table, whose
    /// maps are not copied for it).
    mutating func close(apex: DNSName) -> BuiltNodes {
        for k in 0..<index.count {
            var p = index.names[k].name
            while p != apex && !p.isRoot {
                p = p.parent
                let parent = HashedName(p)
                guard index.position(of: parent) == nil else { break }
                _ = slot(parent)
            }
        }
        _ = slot(HashedName(apex))
        var nodes: [Node] = []
        nodes.reserveCapacity(index.count)
        for (name, sets) in zip(index.names, sets) { nodes.append(Node(name: name.name, rrsets: sets)) }
        return BuiltNodes(index: index, nodes: nodes)
    }
}

/// A closed `NodeTable`: each name's node, in the table's order, then the empty non-terminals.
struct BuiltNodes {
    let index: NameIndex
    let nodes: [Node]

    static let empty = BuiltNodes(index: NameIndex(), nodes: [])

    var names: [HashedName] { index.names }
    var isEmpty: Bool { index.count == 0 }

    func contains(_ name: HashedName) -> Bool { index.position(of: name) != nil }
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
