/// A node `BlockYAML` (KubeSources) read: what `ObjectRules` reads, as `Yams.Node` answers it.
/// It lives here, beside the rules, so that they are compiled for it (`ManifestNode.objects`).
package struct BlockYAMLNode: ManifestNode, Sendable {
    package enum Value: Sendable {
        case scalar(String, plain: Bool)
        case mapping([(String, BlockYAMLNode)])
        case sequence([BlockYAMLNode])
    }

    package let value: Value
    package let line: Int

    package init(_ value: Value, line: Int) {
        self.value = value
        self.line = line
    }

    package func member(_ key: String) -> BlockYAMLNode? {
        guard case .mapping(let m) = value else { return nil }
        for (k, v) in m where k == key { return v }
        return nil
    }

    package var text: String? {
        if case .scalar(let s, _) = value { return s }
        return nil
    }

    package var integer: Int? {
        guard case .scalar(let s, true) = value else { return nil }
        return Int(s)
    }

    package var boolean: Bool? {
        guard case .scalar(let s, true) = value else { return nil }
        return yamlBoolean(s)
    }

    package var items: [BlockYAMLNode]? {
        if case .sequence(let a) = value { return a }
        return nil
    }

    package var entries: [(String, BlockYAMLNode)]? {
        if case .mapping(let m) = value { return m }
        return nil
    }

    package static func objects(_ rules: ObjectRules<BlockYAMLNode>, kind: String, _ node: BlockYAMLNode) throws(SourceError) -> [ClusterObject]? {
        try rules.objects(kind: kind, node)
    }
}

/// YAML 1.1's words for true and false, as the Yams reading spells them.
package func yamlBoolean(_ s: String) -> Bool? {
    switch s.lowercased() {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default: return nil
    }
}
