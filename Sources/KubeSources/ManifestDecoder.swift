import DNSWire
import KubeModel
import Yams

/// Decodes Kubernetes manifests (YAML or JSON, multi-document, `kind: List` and `*List`) into
/// the slim model, keeping only what DNS reads. A malformed object is reported with file, line
/// and object and skipped; it never fails the file (issue 3). A file that does not parse as YAML
/// throws, so the caller can keep the file's last good content.
public struct ManifestDecoder {
    public struct Result: Sendable, Equatable {
        public var objects: [ClusterObject] = []
        public var problems: [SourceError] = []
        /// Kinds we do not read, counted (logged once per kind).
        public var skippedKinds: [String: Int] = [:]
        public init() {}
    }

    let file: String

    public init(file: String) {
        self.file = file
    }

    public func decode(_ text: String) throws(SourceError) -> Result {
        var result = Result()
        do {
            // The sequence stops at a parse error and keeps it in `error`: check it, or a broken
            // file would read as a file that ends early.
            var documents = try Yams.compose_all(yaml: text)
            while let document = documents.next() {
                decodeDocument(document, into: &result)
            }
            if let error = documents.error { throw error }
        } catch let error as YamlError {
            throw SourceError(file: file, line: Self.line(of: error), message: "YAML: \(Self.problem(of: error))")
        } catch {
            throw SourceError(file: file, line: 1, message: "YAML: \(error)")
        }
        return result
    }

    static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 1
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let ctx, let problem, _, _), .parser(let ctx, let problem, _, _), .composer(let ctx, let problem, _, _):
            return ctx.map { "\(problem) \($0.text)" } ?? problem
        default: return "\(error)"
        }
    }

    func decodeDocument(_ node: Node, into result: inout Result) {
        guard node.mapping != nil else {
            if case .scalar(let s) = node, s.string.isEmpty || s.string == "null" || s.string == "~" { return }  // empty document
            result.problems.append(problem(node, "document is not a mapping"))
            return
        }
        let kind = node["kind"]?.string ?? ""
        if kind == "List" || (kind.hasSuffix("List") && node["items"] != nil) {
            for item in node["items"]?.sequence ?? [] { decodeDocument(item, into: &result) }
            return
        }
        guard !kind.isEmpty else {
            result.problems.append(problem(node, "object has no kind"))
            return
        }
        do {
            guard let objects = try ObjectRules<Node>(file: file).objects(kind: kind, node) else {
                result.skippedKinds[kind, default: 0] += 1
                return
            }
            result.objects.append(contentsOf: objects)
        } catch {
            result.problems.append(error)
        }
    }

    func problem(_ node: Node, _ message: String) -> SourceError {
        SourceError(file: file, line: node.mark?.line ?? 1, message: message)
    }
}

extension Yams.Node: ManifestNode {
    public func member(_ key: String) -> Yams.Node? { self[key] }
    public var text: String? { string }
    public var integer: Int? { int }
    public var boolean: Bool? { bool }
    public var items: [Yams.Node]? { sequence.map(Array.init) }
    public var entries: [(String, Yams.Node)]? { mapping.map { $0.map { ($0.key.string ?? "", $0.value) } } }
    public var line: Int { mark?.line ?? 1 }
}
