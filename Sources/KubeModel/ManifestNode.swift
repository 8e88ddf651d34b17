/// A node of a parsed Kubernetes object, whatever it was written in: the YAML of a manifest
/// (Yams) or the JSON of an API response (`JSONValue`). `ObjectRules` reads objects through
/// this, so manifests and the API follow one set of rules.
public protocol ManifestNode {
    /// A mapping's value for `key`.
    func member(_ key: String) -> Self?
    /// A scalar's text (YAML: any scalar; JSON: strings and numbers).
    var text: String? { get }
    var integer: Int? { get }
    var boolean: Bool? { get }
    /// A sequence's items.
    var items: [Self]? { get }
    /// A mapping's entries, keys as text.
    var entries: [(String, Self)]? { get }
    /// Where the node starts, for `file:line` errors (1 when unknown).
    var line: Int { get }
    /// `rules.objects(kind:_:)`. The node types of this module implement it here, where the
    /// rules are compiled for them: called from another module, the generic rules run
    /// unspecialized and look up type metadata at every step (about 13 % of a list page's
    /// decode). Callers go through `ObjectRules.read(kind:_:)`.
    static func objects(_ rules: ObjectRules<Self>, kind: String, _ node: Self) throws(SourceError) -> [ClusterObject]?
}

extension ManifestNode {
    public static func objects(_ rules: ObjectRules<Self>, kind: String, _ node: Self) throws(SourceError) -> [ClusterObject]? {
        try rules.objects(kind: kind, node)
    }
}

extension JSONValue: ManifestNode {
    public func member(_ key: String) -> JSONValue? { self[key] }

    public var text: String? {
        switch self {
        case .string(let s), .number(let s): return s
        default: return nil
        }
    }

    public var integer: Int? {
        if case .number(let s) = self { return Int(s) }
        return nil
    }

    public var boolean: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var items: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var entries: [(String, JSONValue)]? {
        if case .object(let members) = self { return members.map { ($0.key, $0.value) } }
        return nil
    }

    public var line: Int { 1 }

    public static func objects(_ rules: ObjectRules<JSONValue>, kind: String, _ node: JSONValue) throws(SourceError) -> [ClusterObject]? {
        try rules.objects(kind: kind, node)
    }
}
