import KubeModel

/// A reader for the YAML that Kubernetes tools write and people write by hand: block mappings
/// and sequences (indented or not under their key), plain and quoted one-line scalars, literal
/// block scalars (`|`, `|-`, `|+`), one-line flow collections (`[a, b]`, `{k: v}`), comments and `---`
/// documents. It reads a `kubectl get -o yaml` dump about ten times faster than composing it with
/// libyaml (Yams), most of the time of a large manifest directory (issue 11).
///
/// It never decides a question YAML leaves to libyaml: on anything outside that subset (anchors,
/// tags, flow collections over several lines, folded or multi-line scalars, tabs, CR line ends, a
/// duplicated key, any syntax error) it returns nil and the caller composes the text with Yams,
/// which reads it, or reports the error, as before. Where it does read a text, it reads it as
/// Yams does, node lines included: the `manifest` fuzz target holds the two to that.
package enum BlockYAML {
    /// The text's documents, or nil: not in the subset (read it with Yams).
    package static func documents(_ text: String) -> [BlockYAMLNode]? {
        try? read(text).get()
    }

    /// The documents, or the line where the reader gave up (tests name it).
    package static func read(_ text: String) -> Result<[BlockYAMLNode], Declined> {
        var text = text
        return text.withUTF8 { bytes in
            var parser = Parser(bytes)
            do {
                return .success(try parser.documents())
            } catch {
                return .failure(Declined(line: parser.i < parser.lines.count ? parser.lines[parser.i].number : parser.lines.count))
            }
        }
    }

    package struct Declined: Error, Equatable {
        package var line: Int
    }

    struct Unsupported: Error {}

    struct Line {
        var start: Int
        var end: Int
        /// Leading spaces; for a `- key: value` line being read as a mapping, the key's column.
        var indent: Int
        /// 1-based, as Yams counts.
        var number: Int
    }

    struct Parser {
        let b: UnsafeBufferPointer<UInt8>
        var lines: [Line] = []
        var i = 0
        var depth = 0

        init(_ b: UnsafeBufferPointer<UInt8>) {
            self.b = b
            var start = 0, number = 1
            lines.reserveCapacity(b.count / 24)
            while start < b.count {
                var end = start, indent = 0
                while end < b.count, b[end] == 0x20 { end += 1 }
                indent = end - start
                while end < b.count, b[end] != 0x0A { end += 1 }
                lines.append(Line(start: start, end: end, indent: indent, number: number))
                number += 1
                start = end + 1
            }
        }

        mutating func documents() throws(Unsupported) -> [BlockYAMLNode] {
            try screen()
            var documents: [BlockYAMLNode] = []
            skipBlank()
            var started = false
            if i < lines.count, isDocumentStart(lines[i]) { i += 1; started = true }
            while true {
                skipBlank()
                guard i < lines.count else {
                    // `---` and then nothing: an empty document, rare enough to leave to Yams.
                    if started { throw Unsupported() }
                    break
                }
                guard lines[i].indent == 0, !isDocumentStart(lines[i]) else { throw Unsupported() }
                documents.append(try mapping(indent: 0))
                skipBlank()
                guard i < lines.count else { break }
                guard isDocumentStart(lines[i]) else { throw Unsupported() }
                i += 1
                started = true
            }
            return documents
        }

        /// Bytes libyaml reads differently or rejects: tabs, CR, other controls, NEL, LS, PS,
        /// C1 controls, BOMs and the noncharacters U+FFFE/U+FFFF.
        func screen() throws(Unsupported) {
            var k = 0
            while k < b.count {
                let c = b[k]
                if c < 0x20 && c != 0x0A || c == 0x7F { throw Unsupported() }
                if c == 0xC2, k + 1 < b.count, b[k + 1] >= 0x80 && b[k + 1] <= 0x9F { throw Unsupported() }
                if c == 0xE2, k + 2 < b.count, b[k + 1] == 0x80, b[k + 2] == 0xA8 || b[k + 2] == 0xA9 { throw Unsupported() }
                if c == 0xEF, k + 2 < b.count, b[k + 1] == 0xBB && b[k + 2] == 0xBF || b[k + 1] == 0xBF && b[k + 2] >= 0xBE { throw Unsupported() }
                k += 1
            }
        }

        // MARK: lines

        func content(_ l: Line) -> Int { l.start + l.indent }

        func isBlank(_ l: Line) -> Bool {
            let s = content(l)
            return s >= l.end || b[s] == UInt8(ascii: "#")
        }

        /// `---` alone (or before a comment) at column 0.
        func isDocumentStart(_ l: Line) -> Bool {
            guard l.indent == 0, l.end - l.start >= 3, b[l.start] == 0x2D, b[l.start + 1] == 0x2D, b[l.start + 2] == 0x2D else { return false }
            var k = l.start + 3
            guard k == l.end || b[k] == 0x20 else { return false }
            while k < l.end, b[k] == 0x20 { k += 1 }
            return k == l.end || b[k] == UInt8(ascii: "#")
        }

        func isDocumentMarker(_ l: Line) -> Bool {
            guard l.indent == 0, l.end - l.start >= 3 else { return false }
            let c = b[l.start]
            return (c == 0x2D || c == 0x2E) && b[l.start + 1] == c && b[l.start + 2] == c && (l.end - l.start == 3 || b[l.start + 3] == 0x20)
        }

        func isEntry(_ l: Line) -> Bool {
            let s = content(l)
            return s < l.end && b[s] == 0x2D && (s + 1 == l.end || b[s + 1] == 0x20)
        }

        mutating func skipBlank() {
            while i < lines.count, isBlank(lines[i]) { i += 1 }
        }

        // MARK: collections

        mutating func mapping(indent n: Int) throws(Unsupported) -> BlockYAMLNode {
            depth += 1
            defer { depth -= 1 }
            guard depth < 200 else { throw Unsupported() }
            let first = lines[i].number
            var entries: [(String, BlockYAMLNode)] = []
            while i < lines.count {
                let l = lines[i]
                if isBlank(l) { i += 1; continue }
                if l.indent < n || isDocumentMarker(l) { break }
                guard l.indent == n, !isEntry(l) else { throw Unsupported() }
                let (key, after) = try self.key(l)
                for (k, _) in entries where k == key { throw Unsupported() }
                entries.append((key, try value(from: after, of: l, parent: n, inMapping: true)))
            }
            return BlockYAMLNode(.mapping(entries), line: first)
        }

        mutating func sequence(indent n: Int) throws(Unsupported) -> BlockYAMLNode {
            depth += 1
            defer { depth -= 1 }
            guard depth < 200 else { throw Unsupported() }
            let first = lines[i].number
            var items: [BlockYAMLNode] = []
            while i < lines.count {
                let l = lines[i]
                if isBlank(l) { i += 1; continue }
                if l.indent < n || isDocumentMarker(l) { break }
                guard l.indent == n else { throw Unsupported() }
                // An indentless sequence ends where its mapping's next key starts.
                guard isEntry(l) else { break }
                var q = content(l) + 1
                while q < l.end, b[q] == 0x20 { q += 1 }
                if q < l.end, b[q] != UInt8(ascii: "#"), looksLikeKey(from: q, to: l.end) {
                    // `- key: value`: a mapping at the key's column.
                    lines[i].indent = q - l.start
                    items.append(try mapping(indent: q - l.start))
                } else {
                    if q < l.end, b[q] == 0x2D, q + 1 == l.end || b[q + 1] == 0x20 { throw Unsupported() }  // `- - a`
                    items.append(try value(from: q, of: l, parent: n, inMapping: false))
                }
            }
            return BlockYAMLNode(.sequence(items), line: first)
        }

        /// A node that starts on its own line, deeper than its parent.
        mutating func block(indent m: Int) throws(Unsupported) -> BlockYAMLNode {
            isEntry(lines[i]) ? try sequence(indent: m) : try mapping(indent: m)
        }

        /// The value after a key's colon (or a sequence entry's dash) at byte `p` of line `l`, in
        /// a collection at indent `parent`. Consumes its lines.
        mutating func value(from p: Int, of l: Line, parent n: Int, inMapping: Bool) throws(Unsupported) -> BlockYAMLNode {
            var p = p
            while p < l.end, b[p] == 0x20 { p += 1 }
            if p == l.end || b[p] == UInt8(ascii: "#") {
                // Nothing on the line: a deeper block below, an indentless sequence under a key,
                // or an empty scalar (which libyaml puts on the colon's or the dash's line).
                i += 1
                skipBlank()
                if i < lines.count, !isDocumentMarker(lines[i]) {
                    let next = lines[i]
                    if next.indent > n { return try block(indent: next.indent) }
                    if inMapping, next.indent == n, isEntry(next) { return try sequence(indent: n) }
                }
                return BlockYAMLNode(.scalar("", plain: true), line: l.number)
            }
            let node: BlockYAMLNode
            switch b[p] {
            case UInt8(ascii: "|"):
                return try literal(from: p, of: l, parent: n)
            case UInt8(ascii: "\""):
                let (s, end) = try doubleQuoted(from: p, to: l.end)
                try restIsComment(from: end, to: l.end)
                node = BlockYAMLNode(.scalar(s, plain: false), line: l.number)
            case UInt8(ascii: "'"):
                let (s, end) = try singleQuoted(from: p, to: l.end)
                try restIsComment(from: end, to: l.end)
                node = BlockYAMLNode(.scalar(s, plain: false), line: l.number)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let (flow, end) = try self.flow(from: p, of: l, depth: 0)
                try restIsComment(from: end, to: l.end)
                node = flow
            default:
                let end = try plainEnd(from: p, to: l.end)
                // A colon that would make it a key is libyaml's error, not ours to read.
                var k = p
                while k < end {
                    if b[k] == UInt8(ascii: ":"), k + 1 == end || b[k + 1] == 0x20 { throw Unsupported() }
                    k += 1
                }
                node = BlockYAMLNode(.scalar(string(p, end), plain: true), line: l.number)
            }
            i += 1
            // A deeper line after a one-line scalar continues it (a multi-line scalar): not ours.
            skipBlank()
            if i < lines.count, lines[i].indent > n, !isDocumentMarker(lines[i]) { throw Unsupported() }
            return node
        }

        // MARK: flow collections

        /// `[a, "b", {c: d}]` or `{a: b, c: [d]}` on one line: each item a plain or quoted
        /// scalar or a flow collection; anything subtler (a key in a sequence, a colon or `#`
        /// in a plain scalar, an empty item, a trailing comma, a line break) is left to Yams.
        func flow(from p: Int, of l: Line, depth: Int) throws(Unsupported) -> (BlockYAMLNode, Int) {
            guard depth < 50 else { throw Unsupported() }
            let close = b[p] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            var k = skipSpaces(p + 1, l.end)
            var items: [BlockYAMLNode] = []
            var entries: [(String, BlockYAMLNode)] = []
            if k < l.end, b[k] == close { k += 1 } else {
                while true {
                    if close == UInt8(ascii: "}") {
                        let (key, afterKey) = try flowScalar(from: k, of: l, key: true)
                        guard case .scalar(let name, _) = key.value, afterKey + 1 < l.end, b[afterKey] == UInt8(ascii: ":"),
                              b[afterKey + 1] == 0x20, afterKey - k < Self.keyLimit else { throw Unsupported() }
                        for (e, _) in entries where e == name { throw Unsupported() }
                        let (value, end) = try flowNode(from: skipSpaces(afterKey + 1, l.end), of: l, depth: depth)
                        entries.append((name, value))
                        k = end
                    } else {
                        let (item, end) = try flowNode(from: k, of: l, depth: depth)
                        // `[a: b]` is a mapping of one pair: not ours.
                        if end < l.end, b[end] == UInt8(ascii: ":") { throw Unsupported() }
                        items.append(item)
                        k = end
                    }
                    k = skipSpaces(k, l.end)
                    guard k < l.end else { throw Unsupported() }
                    if b[k] == close { k += 1; break }
                    guard b[k] == UInt8(ascii: ",") else { throw Unsupported() }
                    k = skipSpaces(k + 1, l.end)
                    guard k < l.end, b[k] != close else { throw Unsupported() }
                }
            }
            return (BlockYAMLNode(close == UInt8(ascii: "}") ? .mapping(entries) : .sequence(items), line: l.number), k)
        }

        func flowNode(from p: Int, of l: Line, depth: Int) throws(Unsupported) -> (BlockYAMLNode, Int) {
            guard p < l.end else { throw Unsupported() }
            if b[p] == UInt8(ascii: "{") || b[p] == UInt8(ascii: "[") { return try flow(from: p, of: l, depth: depth + 1) }
            return try flowScalar(from: p, of: l)
        }

        /// A quoted scalar, or a plain one up to a flow indicator (a key's up to `: `), without
        /// `:` or `#` in it.
        func flowScalar(from p: Int, of l: Line, key: Bool = false) throws(Unsupported) -> (BlockYAMLNode, Int) {
            guard p < l.end else { throw Unsupported() }
            if b[p] == UInt8(ascii: "\"") || b[p] == UInt8(ascii: "'") {
                let (s, end) = b[p] == UInt8(ascii: "\"") ? try doubleQuoted(from: p, to: l.end) : try singleQuoted(from: p, to: l.end)
                return (BlockYAMLNode(.scalar(s, plain: false), line: l.number), end)
            }
            _ = try plainEnd(from: p, to: l.end)  // the same first-byte rules
            var k = p
            while k < l.end {
                let c = b[k]
                if c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}") || c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { break }
                if key, c == UInt8(ascii: ":"), k + 1 < l.end, b[k + 1] == 0x20 { break }
                if c == UInt8(ascii: ":") || c == UInt8(ascii: "#") || c == UInt8(ascii: "?") { throw Unsupported() }
                k += 1
            }
            var end = k
            while end > p, b[end - 1] == 0x20 { end -= 1 }
            guard end > p else { throw Unsupported() }
            return (BlockYAMLNode(.scalar(string(p, end), plain: true), line: l.number), k)
        }

        func skipSpaces(_ p: Int, _ end: Int) -> Int {
            var k = p
            while k < end, b[k] == 0x20 { k += 1 }
            return k
        }

        // MARK: scalars

        /// A plain scalar's first byte may not be an indicator; it ends at ` #` or the line's end,
        /// trailing spaces dropped.
        func plainEnd(from p: Int, to end: Int) throws(Unsupported) -> Int {
            let c = b[p]
            switch c {
            case UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "#"),
                 UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"), UInt8(ascii: ">"), UInt8(ascii: "'"),
                 UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "`"), UInt8(ascii: "?"), UInt8(ascii: ":"):
                throw Unsupported()
            case UInt8(ascii: "-"):
                if p + 1 == end || b[p + 1] == 0x20 { throw Unsupported() }
            default:
                break
            }
            var k = p
            while k < end, !(b[k] == UInt8(ascii: "#") && b[k - 1] == 0x20) { k += 1 }
            while k > p, b[k - 1] == 0x20 { k -= 1 }
            return k
        }

        /// Whether the content from `p` is `key:` or `key: …` (plain or quoted key).
        func looksLikeKey(from p: Int, to end: Int) -> Bool {
            (try? key(Line(start: p, end: end, indent: 0, number: 0))) != nil
        }

        /// libyaml gives up on a key whose colon is 1,024 bytes or more past its start.
        static let keyLimit = 1000

        /// The key at the line's content and the byte after its colon.
        func key(_ l: Line) throws(Unsupported) -> (String, Int) {
            let s = content(l)
            if b[s] == UInt8(ascii: "\"") || b[s] == UInt8(ascii: "'") {
                let (k, end) = b[s] == UInt8(ascii: "\"") ? try doubleQuoted(from: s, to: l.end) : try singleQuoted(from: s, to: l.end)
                guard end < l.end, b[end] == UInt8(ascii: ":"), end + 1 == l.end || b[end + 1] == 0x20, end - s < Self.keyLimit else { throw Unsupported() }
                return (k, end + 1)
            }
            let end = try plainEnd(from: s, to: l.end)
            var k = s
            while k < end {
                if b[k] == UInt8(ascii: ":"), k + 1 == l.end || b[k + 1] == 0x20 {
                    guard k > s, b[k - 1] != 0x20, k - s < Self.keyLimit else { throw Unsupported() }
                    let key = string(s, k)
                    guard key != "<<" else { throw Unsupported() }  // merge keys: Yams's business
                    return (key, k + 1)
                }
                k += 1
            }
            throw Unsupported()
        }

        /// After a quoted scalar or `{}`: spaces, then the end or a comment.
        func restIsComment(from p: Int, to end: Int) throws(Unsupported) {
            var k = p
            while k < end, b[k] == 0x20 { k += 1 }
            guard k == end || b[k] == UInt8(ascii: "#") && k > p else { throw Unsupported() }
        }

        func string(_ from: Int, _ to: Int) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: b[from..<to]), as: UTF8.self)
        }

        /// `'…'` on one line, `''` for a quote.
        func singleQuoted(from p: Int, to end: Int) throws(Unsupported) -> (String, Int) {
            var out: [UInt8] = []
            var k = p + 1
            while true {
                guard k < end else { throw Unsupported() }
                if b[k] == UInt8(ascii: "'") {
                    if k + 1 < end, b[k + 1] == UInt8(ascii: "'") { out.append(b[k]); k += 2; continue }
                    return (String(decoding: out, as: UTF8.self), k + 1)
                }
                out.append(b[k])
                k += 1
            }
        }

        /// `"…"` on one line, with the common escapes; any other escape is left to Yams.
        func doubleQuoted(from p: Int, to end: Int) throws(Unsupported) -> (String, Int) {
            var out: [UInt8] = []
            var k = p + 1
            while true {
                guard k < end else { throw Unsupported() }
                let c = b[k]
                if c == UInt8(ascii: "\"") { return (String(decoding: out, as: UTF8.self), k + 1) }
                guard c == UInt8(ascii: "\\") else { out.append(c); k += 1; continue }
                guard k + 1 < end else { throw Unsupported() }
                k += 2
                switch b[k - 1] {
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                case UInt8(ascii: " "): out.append(0x20)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "0"): out.append(0)
                case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let digits = b[k - 1] == UInt8(ascii: "x") ? 2 : b[k - 1] == UInt8(ascii: "u") ? 4 : 8
                    guard k + digits <= end else { throw Unsupported() }
                    var v: UInt32 = 0
                    for d in b[k..<(k + digits)] {
                        guard let h = hex(d) else { throw Unsupported() }
                        v = v << 4 | h
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw Unsupported() }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    k += digits
                default:
                    throw Unsupported()
                }
            }
        }

        func hex(_ d: UInt8) -> UInt32? {
            switch d {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(d - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(d - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(d - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }

        /// `|`, `|-` or `|+` and the lines below, deeper than `parent`: their text less the first
        /// line's indentation, the final line breaks chomped (clip: one, strip: none, keep: all).
        mutating func literal(from p: Int, of l: Line, parent n: Int) throws(Unsupported) -> BlockYAMLNode {
            var k = p + 1
            var chomp: UInt8 = 0
            if k < l.end, b[k] == UInt8(ascii: "-") || b[k] == UInt8(ascii: "+") { chomp = b[k]; k += 1 }
            guard k == l.end || b[k] == 0x20 else { throw Unsupported() }  // an indentation digit, or `|x`
            try restIsComment(from: k, to: l.end)
            i += 1
            // The first line sets the indentation; empty lines before it are left to Yams.
            guard i < lines.count, lines[i].indent > n, lines[i].indent < lines[i].end - lines[i].start else { throw Unsupported() }
            let indent = lines[i].indent
            // Each line's text, nil for an empty one (spaces no deeper than the indentation).
            var parts: [Range<Int>?] = []
            while i < lines.count {
                let line = lines[i]
                let length = line.end - line.start
                if line.indent == length && length <= indent {
                    parts.append(nil)
                } else if line.indent >= indent {
                    parts.append((line.start + indent)..<line.end)
                } else if line.indent > n {
                    throw Unsupported()  // less indented than the block, deeper than its parent
                } else {
                    break
                }
                i += 1
            }
            let last = parts.lastIndex { $0 != nil }!
            var out: [UInt8] = []
            for (j, part) in parts[...last].enumerated() {
                if j > 0 { out.append(0x0A) }
                if let part { out.append(contentsOf: UnsafeBufferPointer(rebasing: b[part])) }
            }
            let trailing = parts.count - 1 - last
            let lastHasBreak = parts[last]!.upperBound < b.count
            switch chomp {
            case UInt8(ascii: "-"): break
            case UInt8(ascii: "+"):
                guard i < lines.count else { throw Unsupported() }  // keep at the end of the text
                if lastHasBreak { out.append(0x0A) }
                for _ in 0..<trailing { out.append(0x0A) }
            default:
                if lastHasBreak { out.append(0x0A) }
            }
            // The lines after the block: back to the structure.
            if i < lines.count, !isBlank(lines[i]), lines[i].indent > n { throw Unsupported() }
            return BlockYAMLNode(.scalar(String(decoding: out, as: UTF8.self), plain: false), line: l.number)
        }
    }
}
