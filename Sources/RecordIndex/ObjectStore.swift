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
    /// Keys upserted since `beginReplace`, per origin in a replace.
    private var replacing: [Origin: (kinds: Set<ObjectKind>, seen: Set<Key>)] = [:]

    func effective(_ kind: ObjectKind, _ name: ObjectName) -> ClusterObject? {
        slots[kind]?[name]?.effective
    }

    func count(_ kind: ObjectKind) -> Int { slots[kind]?.count ?? 0 }

    mutating func upsert(_ object: ClusterObject, from origin: Origin) -> (Change?, Effect) {
        let key = Key(kind: object.kind, name: object.name)
        replacing[origin]?.seen.insert(key)
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
        replacing[origin] = (Set(kinds), [])
    }

    /// Deletes what `origin` holds of the replaced kinds and did not upsert since `beginReplace`.
    mutating func endReplace(_ origin: Origin) -> [Change] {
        guard let session = replacing.removeValue(forKey: origin) else { return [] }
        let stale = (held[origin] ?? []).filter { session.kinds.contains($0.kind) && !session.seen.contains($0) }
        return stale.compactMap { delete($0.kind, $0.name, from: origin) }
    }

    /// Objects of one kind in one namespace are found through the index's own maps; this is the
    /// whole kind, for rebuilding from scratch and for tests.
    func all(_ kind: ObjectKind) -> [ClusterObject] {
        (slots[kind] ?? [:]).values.map(\.effective)
    }
}
