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

    /// The copies of one object, by origin; almost always exactly one.
    enum Slot {
        case one(Origin, ClusterObject)
        case many([(Origin, ClusterObject)])

        var effective: ClusterObject {
            switch self {
            case .one(_, let o): return o
            case .many(let list): return list.min { $0.0 < $1.0 }!.1
            }
        }

        var entries: [(Origin, ClusterObject)] {
            switch self {
            case .one(let origin, let o): return [(origin, o)]
            case .many(let list): return list
            }
        }

        init?(_ entries: [(Origin, ClusterObject)]) {
            switch entries.count {
            case 0: return nil
            case 1: self = .one(entries[0].0, entries[0].1)
            default: self = .many(entries)
            }
        }
    }

    /// What a mutation did to the effective object.
    struct Change {
        var old: ClusterObject?
        var new: ClusterObject?
    }

    /// How an upsert compared with what the origin held: counted per relist for its log line.
    enum Effect { case added, changed, unchanged, deleted }

    private(set) var slots: [ObjectKind: [ObjectName: Slot]] = [:]
    /// Keys each origin holds, for the end of a replace.
    private var held: [Origin: Set<Key>] = [:]
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

    mutating func upsert(_ object: ClusterObject, from origin: Origin) -> (Change?, Effect) {
        let key = Key(kind: object.kind, name: object.name)
        replacing[Replace(origin: origin, kind: key.kind)]?.insert(key.name)
        var entries = slots[key.kind]?[key.name]?.entries ?? []
        let before = entries.isEmpty ? nil : Slot(entries)!.effective
        let effect: Effect
        if let i = entries.firstIndex(where: { $0.0 == origin }) {
            guard entries[i].1 != object else { return (nil, .unchanged) }
            entries[i].1 = object
            effect = .changed
        } else {
            entries.append((origin, object))
            held[origin, default: []].insert(key)
            effect = .added
        }
        let slot = Slot(entries)!
        slots[key.kind, default: [:]][key.name] = slot
        let after = slot.effective
        return (before == after ? nil : Change(old: before, new: after), effect)
    }

    mutating func delete(_ kind: ObjectKind, _ name: ObjectName, from origin: Origin) -> Change? {
        let key = Key(kind: kind, name: name)
        guard var entries = slots[kind]?[name]?.entries, let i = entries.firstIndex(where: { $0.0 == origin }) else { return nil }
        let before = Slot(entries)!.effective
        entries.remove(at: i)
        held[origin]?.remove(key)
        let slot = Slot(entries)
        slots[kind]?[name] = slot
        let after = slot?.effective
        return before == after ? nil : Change(old: before, new: after)
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
        let stale = (held[origin] ?? []).filter { key in sessions[key.kind].map { !$0.contains(key.name) } ?? false }
        return stale.compactMap { delete($0.kind, $0.name, from: origin) }
    }

    /// Objects of one kind in one namespace are found through the index's own maps; this is the
    /// whole kind, for rebuilding from scratch and for tests.
    func all(_ kind: ObjectKind) -> [ClusterObject] {
        (slots[kind] ?? [:]).values.map(\.effective)
    }
}
