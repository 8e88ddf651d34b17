/// Where an object came from. When several origins hold the same object (a Service in a file
/// and in the API), the API's copy is the one served, then the file whose path sorts first.
public enum Origin: Hashable, Sendable, Comparable, CustomStringConvertible {
    case api
    case file(String)

    public var description: String {
        switch self {
        case .api: return "kubernetes"
        case .file(let path): return path
        }
    }
}

/// A change to one object, as a source observed it.
public enum ObjectEvent: Hashable, Sendable {
    case upsert(ClusterObject)
    case delete(ObjectKind, ObjectName)
}

/// What sources hand to the index, in order. Sources never hold the objects themselves: the
/// index owns them (DESIGN.md, "one owner").
public enum SourceUpdate: Sendable {
    /// Object events from one origin.
    case events(Origin, [ObjectEvent], arrived: ContinuousClock.Instant)
    /// A full relist (or a file's re-read) of these kinds starts: objects upserted until
    /// `endReplace` are the origin's whole content, anything else it held of those kinds goes.
    case beginReplace(Origin, [ObjectKind])
    case endReplace(Origin, [ObjectKind], arrived: ContinuousClock.Instant)
    /// The origin has listed everything once: before this, its objects are held back and the
    /// cluster zones answer SERVFAIL for what they would answer (spec D18).
    case synced(Origin)
}
