import KubeModel

/// The objects every source delivered, keyed by kind and name, with the origin that holds each.
/// One object may be held by several origins; the effective one is the copy of the smallest
/// origin (the API, then files by path). Every mutation returns the effective change, which is
/// all the index derives from.
struct ObjectStore {
    struct Key: Hashable {
        var kind: ObjectKind
        var name: ObjectName
    }

    /// One origin's copy of an object.
    struct Copy {
        var origin: Origin
        var object: ClusterObject
    }

    /// The copies of one object, by origin; almost always exactly one.
    typealias Slot = OneOrMany<Copy>

    /// What a mutation did to the effective object.
    struct Change {
        var old: ClusterObject?
        var new: ClusterObject?
    }

    /// How an upsert compared with what the origin held: counted per relist for its log line.
    enum Effect { case added, changed, unchanged, deleted }

    private(set) var slots: [ObjectKind: [ObjectName: Slot]] = [:]
    /// Names upserted since `beginReplace`, per origin and kind in a replace. Per kind: the API
    /// relists each resource on its own schedule, and their replaces overlap.
    private var replacing: [Replace: Set<ObjectName>] = [:]

    struct Replace: Hashable {
        var origin: Origin
        var kind: ObjectKind
    }

    func effective(_ kind: ObjectKind, _ name: ObjectName) -> ClusterObject? {
        slots[kind]?[name]?.effective
    }

    func count(_ kind: ObjectKind) -> Int { slots[kind]?.count ?? 0 }

    /// No object, and no replace open.
    var isEmpty: Bool { replacing.isEmpty && slots.values.allSatisfy(\.isEmpty) }

    mutating func upsert(_ object: ClusterObject, from origin: Origin) -> (Change?, Effect) {
        let key = Key(kind: object.kind, name: object.name)
        replacing[Replace(origin: origin, kind: key.kind)]?.insert(key.name)
        guard let existing = slots[key.kind]?[key.name] else {
            // A new object, the whole of a first list: no copies to compare.
            slots[key.kind, default: [:]][key.name] = .one(Copy(origin: origin, object: object))
            return (Change(old: nil, new: object), .added)
        }
        var entries = existing.all
        let before = entries.isEmpty ? nil : Slot(entries)!.effective
        let effect: Effect
        if let i = entries.firstIndex(where: { $0.origin == origin }) {
            guard entries[i].object != object else { return (nil, .unchanged) }
            entries[i].object = object
            effect = .changed
        } else {
            entries.append(Copy(origin: origin, object: object))
            effect = .added
        }
        let slot = Slot(entries)!
        slots[key.kind, default: [:]][key.name] = slot
        let after = slot.effective
        return (before == after ? nil : Change(old: before, new: after), effect)
    }

    mutating func delete(_ kind: ObjectKind, _ name: ObjectName, from origin: Origin) -> Change? {
        guard var entries = slots[kind]?[name]?.all, let i = entries.firstIndex(where: { $0.origin == origin }) else { return nil }
        let before = Slot(entries)!.effective
        entries.remove(at: i)
        let slot = Slot(entries)
        slots[kind]?[name] = slot
        let after = slot?.effective
        return before == after ? nil : Change(old: before, new: after)
    }

    /// Replaces begun and not yet ended, with the names upserted since each began.
    var openReplaces: [Replace: Set<ObjectName>] { replacing }

    /// Continues replaces begun in another store (objects held aside, then released): their
    /// end deletes here what they did not see there.
    mutating func resume(_ sessions: [Replace: Set<ObjectName>]) {
        for (session, seen) in sessions { replacing[session, default: []].formUnion(seen) }
    }

    mutating func beginReplace(_ origin: Origin, kinds: [ObjectKind]) {
        for kind in kinds { replacing[Replace(origin: origin, kind: kind)] = [] }
    }

    /// Deletes what `origin` holds of these kinds and did not upsert since their `beginReplace`.
    mutating func endReplace(_ origin: Origin, kinds: [ObjectKind]) -> [Change] {
        var sessions: [ObjectKind: Set<ObjectName>] = [:]
        for kind in kinds {
            if let seen = replacing.removeValue(forKey: Replace(origin: origin, kind: kind)) { sessions[kind] = seen }
        }
        guard !sessions.isEmpty else { return [] }
        // One pass over the kinds relisted, at the end of a relist: cheaper to keep than a set
        // of every object's key per origin, which cost about 60 bytes an object.
        var stale: [Key] = []
        for (kind, seen) in sessions {
            for (name, slot) in slots[kind] ?? [:] where !seen.contains(name) && slot.holds(origin) {
                stale.append(Key(kind: kind, name: name))
            }
        }
        return stale.compactMap { delete($0.kind, $0.name, from: origin) }
    }

    /// Objects of one kind in one namespace are found through the index's own maps; this is the
    /// whole kind, for rebuilding from scratch and for tests.
    func all(_ kind: ObjectKind) -> [ClusterObject] {
        (slots[kind] ?? [:]).values.map(\.effective)
    }
}

extension OneOrMany where Element == ObjectStore.Copy {
    func holds(_ origin: Origin) -> Bool {
        switch self {
        case .one(let c): return c.origin == origin
        case .many(let list): return list.contains { $0.origin == origin }
        }
    }

    /// The copy served: the smallest origin's.
    var effective: ClusterObject {
        switch self {
        case .one(let c): return c.object
        case .many(let list): return list.min { $0.origin < $1.origin }!.object
        }
    }
}
