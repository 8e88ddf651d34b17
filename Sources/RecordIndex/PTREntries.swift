import HashTreeCollections

/// `PTRTable`'s askers by address, grouped by all of an address but its last byte. A cluster's
/// addresses come in dense runs (a node's pod range, the addresses of one Service's endpoints),
/// so a first build of 110,000 PTRs appends to a few hundred groups where a tree keyed by each
/// address took a cold insert per address, and an entry costs 16 bytes where a tree's cost
/// about 40. Persistent, like the tree it replaces: groups are shared with published snapshots,
/// and an event copies only the groups it changes (at most 256 entries each).
struct PTREntries: Sendable {
    typealias Key = PTRTable.Key
    typealias Askers = PTRTable.Askers

    /// An address without its last byte.
    struct Group: Hashable, Sendable {
        var high: UInt64
        var low: UInt64
        var v6: Bool

        init(_ key: Key) {
            high = key.high
            low = key.low & ~0xFF
            v6 = key.v6
        }

        func key(_ last: UInt8) -> Key { Key(high: high, low: low | UInt64(last), v6: v6) }
    }

    /// One address of a group: its last byte and its askers (askers first: 16 bytes a slot).
    struct Entry: Sendable {
        var askers: Askers
        var last: UInt8
    }

    /// Each group's entries, by last byte ascending.
    private var groups = TreeDictionary<Group, [Entry]>()
    /// Addresses in the table.
    private(set) var count = 0

    /// Where `last` is in `entries`, or where it would go.
    private static func position(_ last: UInt8, in entries: [Entry]) -> (index: Int, found: Bool) {
        // Most additions come in ascending order: the end first.
        if let tail = entries.last, tail.last < last { return (entries.count, false) }
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].last < last { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < entries.count && entries[lo].last == last)
    }

    /// A query's lookup: no allocation, the binary search over the group's buffer.
    subscript(key: Key) -> Askers? {
        guard let entries = groups[Group(key)] else { return nil }
        let last = UInt8(truncatingIfNeeded: key.low)
        return entries.withUnsafeBufferPointer { e -> Askers? in
            var lo = 0, hi = e.count
            while lo < hi {
                let mid = (lo &+ hi) >> 1
                let m = e[mid].last
                if m == last { return e[mid].askers }
                if m < last { lo = mid &+ 1 } else { hi = mid }
            }
            return nil
        }
    }

    /// Changes the askers of `key` in place: `body` gets nil for an address not in the table,
    /// and an address whose askers it sets to nil leaves it.
    mutating func update(_ key: Key, _ body: (inout Askers?) -> Void) {
        let last = UInt8(truncatingIfNeeded: key.low)
        var delta = 0
        groups.updateValue(forKey: Group(key)) { (slot: inout [Entry]?) in
            // Moved out of the tree's slot, so a group not shared with a snapshot is changed in
            // place rather than copied.
            var entries = slot ?? []
            slot = nil
            let (i, found) = Self.position(last, in: entries)
            var askers = found ? entries[i].askers : nil
            body(&askers)
            switch (found, askers) {
            case (true, let a?): entries[i].askers = a
            case (true, nil): entries.remove(at: i); delta = -1
            case (false, let a?): entries.insert(Entry(askers: a, last: last), at: i); delta = 1
            case (false, nil): break
            }
            slot = entries.isEmpty ? nil : entries
        }
        count += delta
    }

    /// Calls `body` with every address in the table and its askers, group by group.
    func forEach(_ body: (Key, Askers) -> Void) {
        for (group, entries) in groups {
            for entry in entries { body(group.key(entry.last), entry.askers) }
        }
    }

    /// Calls `body` with each group and its entries.
    func forEachGroup(_ body: (Group, [Entry]) -> Void) {
        for (group, entries) in groups { body(group, entries) }
    }

    /// Every address in the table, in no particular order.
    var keys: [Key] {
        var out: [Key] = []
        out.reserveCapacity(count)
        forEach { key, _ in out.append(key) }
        return out
    }
}
