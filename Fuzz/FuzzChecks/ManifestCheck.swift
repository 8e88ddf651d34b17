import Foundation
import KubeModel
import KubeSources
import Yams

/// Target `manifest`: any bytes as a manifest file (`x.yaml`, and again as `x.json`: the
/// directory reads both with `ManifestDecoder`) → objects and problems, or an error; never a
/// trap. What the decoder promises (issue 3): every error and problem names the file and a line
/// of it; the same text decodes the same way every time and under either name; every object
/// returned keeps the rules (`ObjectCheck`). And one set of rules for manifests and the API: a
/// JSON file that YAML reads gives what `ObjectRules` gives for the same JSON as the API sends it.
/// And `BlockYAML`, the fast reader, reads what it accepts as Yams does: the same nodes, scalar
/// styles and lines, and the same decoded result.
public enum ManifestCheck {
    public static func check(_ bytes: [UInt8]) throws {
        // As the directory reads a file: text that is not UTF-8 is an error of its own, not decoded.
        guard let text = String(data: Data(bytes), encoding: .utf8) else { return }
        // libyaml ends a last line that has no line break with one of its own, so an error at the
        // end of such a file is on the line after its last (found by this target, reported: the
        // decoder could clamp it). Allowed here, so the fuzzer looks past it.
        let lines = lineCount(text) + (endsWithLineBreak(text) ? 0 : 1)
        try sameAsYams(text)
        var yaml: ManifestDecoder.Result?
        for file in ["x.yaml", "x.json"] {
            let result = decode(text, file), again = decode(text, file, reader: .yams)
            try require(result == again || sameDuplicateKeyError(result, again),
                        "\(file): the fast reader and Yams decode the same text differently:\n  \(result)\n  \(again)")
            switch result {
            case .failure(let error):
                try require(error.file == file && !error.message.isEmpty, "\(file): error without file or message: \(error)")
                try require((1...lines).contains(error.line), "\(file): error line \(error.line) outside a \(lines)-line file: \(error)")
            case .success(let r):
                for p in r.problems {
                    try require(p.file == file && !p.message.isEmpty, "\(file): problem without file or message: \(p)")
                    try require((1...lines).contains(p.line), "\(file): problem line \(p.line) outside a \(lines)-line file: \(p)")
                }
                for o in r.objects {
                    do { try ObjectCheck.check(o) } catch { throw CheckFailure("\(file): \(error)") }
                }
                try require(r.skippedKinds.allSatisfy { !$0.key.isEmpty && $0.value > 0 }, "\(file): skipped kinds \(r.skippedKinds)")
                if file == "x.yaml" {
                    yaml = r
                } else if let y = yaml {
                    try require(y.objects == r.objects && y.skippedKinds == r.skippedKinds
                                && y.problems.map { "\($0.line): \($0.message)" } == r.problems.map { "\($0.line): \($0.message)" },
                                "the same text decodes differently as x.yaml and as x.json")
                }
            }
        }
        if let yaml { try compareWithAPI(bytes, yaml) }
    }

    /// Yams lists a mapping's duplicated keys in no fixed order ("… duplicated key(s): 'a', 'b'."
    /// one time, "'b', 'a'" the next: found by this target, reported). Equal when the file, the
    /// line and the set of keys are.
    static func sameDuplicateKeyError(_ a: Result<ManifestDecoder.Result, SourceError>, _ b: Result<ManifestDecoder.Result, SourceError>) -> Bool {
        guard case .failure(let x) = a, case .failure(let y) = b, x.file == y.file, x.line == y.line,
              let i = x.message.range(of: "duplicated key(s): "), let j = y.message.range(of: "duplicated key(s): ") else { return false }
        func keys(_ rest: Substring) -> [Substring] { (rest.split(separator: ".", maxSplits: 1).first ?? "").split(separator: ",").map { $0.drop { $0 == " " } }.sorted() }
        // The context after the list follows the same order, so it is left out too.
        return x.message[..<i.upperBound] == y.message[..<j.upperBound] && keys(x.message[i.upperBound...]) == keys(y.message[j.upperBound...])
    }

    static func decode(_ text: String, _ file: String, reader: ManifestDecoder.Reader = .fastest) -> Result<ManifestDecoder.Result, SourceError> {
        Result { () throws(SourceError) in try ManifestDecoder(file: file).decode(text, reader: reader) }
    }

    /// Text `BlockYAML` accepts composes with Yams to the same documents, node for node.
    package static func sameAsYams(_ text: String) throws {
        guard let fast = BlockYAML.documents(text) else { return }
        var yams: [String] = []
        do {
            var documents = try Yams.compose_all(yaml: text, .basic)
            while let d = documents.next() { yams.append(shape(d)) }
            if let error = documents.error { throw error }
        } catch {
            throw CheckFailure("BlockYAML read a text Yams rejects (\(error)):\n\(fast.map(shape))")
        }
        try require(fast.map(shape) == yams, "BlockYAML and Yams read the text differently:\n  fast \(fast.map(shape))\n  yams \(yams)")
    }

    /// A node as text: structure, scalar text and plainness, and every node's line.
    static func shape(_ n: BlockYAMLNode) -> String {
        switch n.value {
        case .scalar(let s, let plain): return "\(n.line):\(plain ? "" : "q")\(s.debugDescription)"
        case .mapping(let m): return "\(n.line):{" + m.map { "\($0.0.debugDescription)=\(shape($0.1))" }.joined(separator: ",") + "}"
        case .sequence(let a): return "\(n.line):[" + a.map(shape).joined(separator: ",") + "]"
        }
    }

    static func shape(_ n: Yams.Node) -> String {
        let line = n.mark?.line ?? 0
        switch n {
        case .scalar(let s): return "\(line):\(s.style == .plain ? "" : "q")\(s.string.debugDescription)"
        case .mapping(let m): return "\(line):{" + m.map { "\(($0.key.scalar?.string ?? "?").debugDescription)=\(shape($0.value))" }.joined(separator: ",") + "}"
        case .sequence(let a): return "\(line):[" + a.map(shape).joined(separator: ",") + "]"
        case .alias: return "\(line):*"
        }
    }

    /// Lines as YAML counts them (libyaml, YAML 1.1): CR LF, CR, LF, NEL, LS and PS each end one.
    /// An editor that shows a lone CR as a line break (most do) shows the same numbers.
    static func lineCount(_ text: String) -> Int {
        var n = 1
        var afterCR = false
        for u in text.unicodeScalars {
            switch u.value {
            case 0x0A: if !afterCR { n += 1 }
            case 0x0D, 0x85, 0x2028, 0x2029: n += 1
            default: break
            }
            afterCR = u.value == 0x0D
        }
        return n
    }

    static func endsWithLineBreak(_ text: String) -> Bool {
        guard let last = text.unicodeScalars.last else { return true }
        return [0x0A, 0x0D, 0x85, 0x2028, 0x2029].contains(last.value)
    }

    /// When the bytes are JSON and YAML read them, each document (and each item of a List) goes
    /// through `ObjectRules<JSONValue>` as `decodeDocument` sends it: the objects and the problems'
    /// words must be the same (lines aside: JSON values carry none). Left out, as what JSON and
    /// YAML 1.1 legitimately read differently: `null` and booleans where the rules read text
    /// (YAML reads them as the words), and raw NEL/LS/PS in a string (YAML folds line breaks).
    static func compareWithAPI(_ bytes: [UInt8], _ yaml: ManifestDecoder.Result) throws {
        guard let json = try? JSONValue.parse(bytes), !hasYAMLLineBreak(bytes), textReadsAlike(json, key: nil) else { return }
        var api = ManifestDecoder.Result()
        read(json, into: &api)
        try require(api.objects == yaml.objects && api.skippedKinds == yaml.skippedKinds
                    && api.problems.map(\.message) == yaml.problems.map(\.message),
                    "JSON read as YAML and as the API differ:\n  yaml \(yaml.objects) \(yaml.problems.map(\.message)) \(yaml.skippedKinds)\n  api  \(api.objects) \(api.problems.map(\.message)) \(api.skippedKinds)")
    }

    /// `ManifestDecoder.decodeDocument`, over JSON values.
    static func read(_ node: JSONValue, into result: inout ManifestDecoder.Result) {
        guard case .object = node else {
            if let t = node.text, t.isEmpty || t == "null" || t == "~" { return }
            result.problems.append(SourceError(file: "x.json", line: 1, message: "document is not a mapping"))
            return
        }
        let kind = node.member("kind")?.text ?? ""
        if kind == "List" || (kind.hasSuffix("List") && node.member("items") != nil) {
            for item in node.member("items")?.items ?? [] { read(item, into: &result) }
            return
        }
        guard !kind.isEmpty else {
            result.problems.append(SourceError(file: "x.json", line: 1, message: "object has no kind"))
            return
        }
        do {
            guard let objects = try ObjectRules<JSONValue>(file: "x.json").read(kind: kind, node) else {
                result.skippedKinds[kind, default: 0] += 1
                return
            }
            result.objects += objects
        } catch {
            result.problems.append(error)
        }
    }

    /// No `null`, and booleans only where the rules read a boolean.
    static func textReadsAlike(_ v: JSONValue, key: String?) -> Bool {
        switch v {
        case .null: return false
        case .bool: return key == "publishNotReadyAddresses" || key == "ready"
        case .object(let members): return members.allSatisfy { textReadsAlike($0.value, key: $0.key) }
        case .array(let items): return items.allSatisfy { textReadsAlike($0, key: nil) }
        case .string, .number: return true
        }
    }

    /// NEL (C2 85), LS (E2 80 A8), PS (E2 80 A9): line breaks to YAML 1.1, text to JSON.
    static func hasYAMLLineBreak(_ b: [UInt8]) -> Bool {
        for i in b.indices.dropLast() {
            if b[i] == 0xC2 && b[i + 1] == 0x85 { return true }
            if b[i] == 0xE2 && b[i + 1] == 0x80 && i + 2 < b.count && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9) { return true }
        }
        return false
    }
}
