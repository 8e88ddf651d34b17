import DNSWire
import Dispatch
import Foundation
import KubeModel
import Synchronization
import Yams

/// Decodes Kubernetes manifests (YAML or JSON, multi-document, `kind: List` and `*List`) into
/// the slim model, keeping only what DNS reads. A malformed object is reported with file, line
/// and object and skipped; it never fails the file (issue 3). A file that does not parse as YAML
/// throws, so the caller can keep the file's last good content.
public struct ManifestDecoder: Sendable {
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

    public func decode(_ text: String, reader: Reader = .fastest) throws(SourceError) -> Result {
        // In pieces when the file is shaped for it; anything a piece cannot read alone (an alias
        // to an anchor in another piece, a syntax error) is read again whole, so the result and
        // its errors are the whole file's.
        if text.utf8.count >= Self.splitSize, let chunks = Self.listChunks(text), let pieces = try? decode(chunks, reader: reader) {
            return pieces
        }
        return try decode(text, lineOffset: 0, itemsOnly: false, reader: reader)
    }

    /// How YAML text is read: `BlockYAML` where it can, else Yams; or Yams alone (the fuzz
    /// target's reference).
    public enum Reader: Sendable { case fastest, yams }

    /// Files this large that are one `kind: List` are parsed in pieces on every core.
    package static let splitSize = 1 << 20

    /// `text` is one piece or the whole file; `lineOffset` maps its lines back to the file's.
    /// A piece is `items:` and some of the List's items.
    package func decode(_ text: String, lineOffset: Int, itemsOnly: Bool, reader: Reader = .fastest) throws(SourceError) -> Result {
        var result = Result()
        do {
            if reader != .yams, let documents = BlockYAML.documents(text) {
                for document in documents { decodeDocument(document, itemsOnly: itemsOnly, into: &result) }
            } else {
                // The sequence stops at a parse error and keeps it in `error`: check it, or a broken
                // file would read as a file that ends early. The basic resolver: no implicit-tag
                // regexes over every scalar (they were most of the time of a large dump);
                // `ManifestNode` below reads scalars as Kubernetes does.
                var documents = try Yams.compose_all(yaml: text, .basic)
                while let document = documents.next() { decodeDocument(document, itemsOnly: itemsOnly, into: &result) }
                if let error = documents.error { throw error }
            }
        } catch let error as YamlError {
            throw SourceError(file: file, line: Self.line(of: error) + lineOffset, message: "YAML: \(Self.problem(of: error))")
        } catch {
            throw SourceError(file: file, line: 1 + lineOffset, message: "YAML: \(error)")
        }
        if lineOffset != 0 {
            for i in result.problems.indices { result.problems[i].line += lineOffset }
        }
        return result
    }

    /// A document, or in a piece (`itemsOnly`) the items under its `items:`.
    func decodeDocument<N: ManifestNode>(_ document: N, itemsOnly: Bool, into result: inout Result) {
        guard itemsOnly else { return decodeDocument(document, into: &result) }
        for item in document.member("items")?.items ?? [] { decodeDocument(item, into: &result) }
    }

    /// The pieces of a `kind: List` file with its items at column 0 (as `kubectl get -o yaml`
    /// writes it), each `items:` and a run of whole items, with the offset of its lines; nil
    /// when the file is not shaped so (it is then parsed whole, errors and all).
    package static func listChunks(_ text: String) -> [(text: String, lineOffset: Int)]? {
        // Over the bytes: splitting and joining a large file as Strings took longer than reading it.
        var text = text
        return text.withUTF8 { b -> [(text: String, lineOffset: Int)]? in
            var starts = [0]  // where each line starts; line k ends at starts[k + 1] - 1
            for k in b.indices where b[k] == 0x0A { starts.append(k + 1) }
            let lineCount = starts.count
            func end(_ k: Int) -> Int { k + 1 < lineCount ? starts[k + 1] - 1 : b.count }
            func string(_ from: Int, _ to: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[from..<max(from, to)]), as: UTF8.self) }
            func first(_ k: Int) -> UInt8? { starts[k] < end(k) ? b[starts[k]] : nil }
            let itemsKey = Array("items:".utf8)
            guard let itemsAt = (0..<lineCount).first(where: { end($0) - starts[$0] == itemsKey.count && b[starts[$0]..<end($0)].elementsEqual(itemsKey) })
            else { return nil }
            var last = itemsAt + 1
            var items: [Int] = []
            while last < lineCount {
                let c = first(last)
                guard c == nil || c == 0x20 || c == UInt8(ascii: "-") || c == UInt8(ascii: "#") else { break }
                if c == UInt8(ascii: "-"), end(last) - starts[last] == 1 || b[starts[last] + 1] == 0x20 { items.append(last) }
                last += 1
            }
            // The rest must say it is a List and parse: then the items are all there is.
            var rest = string(0, starts[itemsAt]) + "items: []"
            if last < lineCount { rest += "\n" + string(starts[last], b.count) }
            guard items.count >= 2, let header = try? Yams.compose(yaml: rest, .basic), header.member("kind")?.text == "List" else { return nil }
            let pieces = min(items.count, max(2, ProcessInfo.processInfo.activeProcessorCount) * 2)
            var chunks: [(String, Int)] = []
            for p in 0..<pieces {
                let from = items[p * items.count / pieces]
                let to = p == pieces - 1 ? last : items[(p + 1) * items.count / pieces]
                // Line 2 of the piece is line `from + 1` of the file.
                chunks.append(("items:\n" + string(starts[from], end(to - 1)), from - 1))
            }
            return chunks
        }
    }

    func decode(_ chunks: [(text: String, lineOffset: Int)], reader: Reader) throws(SourceError) -> Result {
        let results = Mutex([Swift.Result<ManifestDecoder.Result, SourceError>?](repeating: nil, count: chunks.count))
        DispatchQueue.concurrentPerform(iterations: chunks.count) { i in
            let r = Swift.Result { () throws(SourceError) -> ManifestDecoder.Result in
                try decode(chunks[i].text, lineOffset: chunks[i].lineOffset, itemsOnly: true, reader: reader)
            }
            results.withLock { $0[i] = r }
        }
        var out = Result()
        for r in results.withLock({ $0 }) {
            switch r! {
            case .success(let part):
                out.objects += part.objects
                out.problems += part.problems
                out.skippedKinds.merge(part.skippedKinds, uniquingKeysWith: +)
            case .failure(let error):
                throw error
            }
        }
        return out
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

    func decodeDocument<N: ManifestNode>(_ node: N, into result: inout Result) {
        guard node.entries != nil else {
            if let s = node.text, s.isEmpty || s == "null" || s == "~" { return }  // empty document
            result.problems.append(problem(node, "document is not a mapping"))
            return
        }
        let kind = node.member("kind")?.text ?? ""
        if kind == "List" || (kind.hasSuffix("List") && node.member("items") != nil) {
            for item in node.member("items")?.items ?? [] { decodeDocument(item, into: &result) }
            return
        }
        guard !kind.isEmpty else {
            result.problems.append(problem(node, "object has no kind"))
            return
        }
        do {
            guard let objects = try ObjectRules<N>(file: file).read(kind: kind, node) else {
                result.skippedKinds[kind, default: 0] += 1
                return
            }
            result.objects.append(contentsOf: objects)
        } catch {
            result.problems.append(error)
        }
    }

    func problem<N: ManifestNode>(_ node: N, _ message: String) -> SourceError {
        SourceError(file: file, line: node.line, message: message)
    }
}

/// Scalars read the way Kubernetes' YAML reader (YAML 1.1) reads them, from the text: a plain
/// (unquoted) scalar may be an integer or a boolean; a quoted one is always a string.
extension Yams.Node: ManifestNode {
    public func member(_ key: String) -> Yams.Node? {
        guard case .mapping(let m) = self else { return nil }
        for (k, v) in m where k.scalar?.string == key { return v }
        return nil
    }

    public var text: String? { scalar?.string }

    public var integer: Int? {
        guard let s = scalar, s.style == .plain else { return nil }
        return Int(s.string)
    }

    public var boolean: Bool? {
        guard let s = scalar, s.style == .plain else { return nil }
        return yamlBoolean(s.string)
    }

    public var items: [Yams.Node]? { sequence.map(Array.init) }
    public var entries: [(String, Yams.Node)]? { mapping.map { $0.map { ($0.key.scalar?.string ?? "", $0.value) } } }
    public var line: Int { mark?.line ?? 1 }
}
