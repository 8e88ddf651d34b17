import Foundation
import KubeModel
import Logging
import NIOPosix
// KubeSource's decoders are `package`: visible here in every build.
import KubeAPI

/// Target `watch`: any bytes as one watch line and as one list page body, for each resource
/// (Namespaces, Services, EndpointSlices, Pods), through KubeSource's own decoders
/// (`decodeEvent`, `decodeList`) → an event or a page, or a `JSONValue.ParseError`; never a trap.
///
/// - A line or page that is not JSON fails with the parser's own error; a JSON line fails only
///   when it lacks `type` or `object`; nothing else is ever thrown.
/// - An event is the one its `type` names: ADDED/MODIFIED upsert an object that keeps the rules
///   (`ObjectCheck`) under the line's name, or delete that name when the rules reject it;
///   DELETED deletes the name; ERROR 410 is `gone`, other codes an error with the Status' words;
///   BOOKMARK moves the version. Every version is `metadata.resourceVersion`.
/// - A list page and watch events read objects alike: a page holds, in order, exactly the items
///   an ADDED event would upsert, and an upserted object alone on a page is that page.
/// - The JSON reader: a value written back as JSON reads back the same, and any document
///   Foundation's JSONSerialization accepts (in UTF-8 without U+FEFF, not nested too deeply, without surrogate
///   escapes, whose handling RFC 8259 leaves open, and without the trailing commas Foundation
///   allows) reads the same here.
public enum WatchCheck {
    public static func check(_ bytes: [UInt8]) throws {
        let parsed = Result { () throws(JSONValue.ParseError) in try JSONValue.parse(bytes) }
        try checkReader(bytes, parsed)
        for r in KubeResource.allCases {
            try checkEvent(r, bytes, parsed)
            try checkList(r, bytes, parsed)
        }
    }

    /// Never connects: only its decoders run.
    static let source: KubeSource = {
        let credentials = KubeCredentials(scheme: "http", host: "127.0.0.1", port: 9, origin: "fuzz")
        let client = try! KubeHTTPClient(credentials: credentials, group: MultiThreadedEventLoopGroup(numberOfThreads: 1))
        return KubeSource(client: client, resources: KubeResource.allCases, logger: Logger(label: "fuzz.watch") { _ in SwiftLogNoOpLogHandler() },
                          emit: { _ in }, onState: { _, _ in })
    }()

    static func checkEvent(_ r: KubeResource, _ bytes: [UInt8], _ parsed: Result<JSONValue, JSONValue.ParseError>) throws {
        let what = "\(r) event"
        let event: KubeSource.Event
        do {
            event = try source.decodeEvent(r, bytes)
        } catch let e as JSONValue.ParseError {
            // One past the end is allowed for an unterminated string: skipping a string (a value
            // under metadata.annotations or managedFields) steps over the byte after a backslash
            // even when the backslash is the last byte (found by this target, reported).
            let end = bytes.count + (e.message == "unterminated string" ? 1 : 0)
            try require((0...end).contains(e.offset), "\(what): error offset outside the \(bytes.count) bytes: \(e)")
            switch parsed {
            case .failure(let p):
                try require(e.offset == p.offset && e.message == p.message, "\(what): threw \(e), the parser \(p)")
            case .success(let v):
                try require(v["type"]?.text == nil || v["object"] == nil, "\(what): threw \(e) for a line with a type and an object")
            }
            return
        } catch {
            throw CheckFailure("\(what): threw \(type(of: error)), not a JSON error: \(error)")
        }
        guard case .success(let line) = parsed, let type = line["type"]?.text, let object = line["object"] else {
            throw CheckFailure("\(what): an event from a line that is not JSON with a type and an object: \(event)")
        }
        let meta = object["metadata"]
        let version = meta?["resourceVersion"]?.text
        let name = meta?["name"]?.text
        let deleteKey = name.map { ObjectName(namespace: r == .namespaces ? "" : meta?["namespace"]?.text ?? "", name: $0) }
        let upserting = type == "ADDED" || type == "MODIFIED"
        // The object alone on a list page: what the list path reads of it.
        let page = try source.decodeList(r, encode(.object([("metadata", .object([])), ("items", .array([object]))]))).items
        switch event {
        case .upsert(let o, let v):
            try require(upserting && v == version, "\(what): upsert (version \(String(describing: v))) from a \(type) line, version \(String(describing: version))")
            try require(o.kind == r.kind, "\(what): a \(o.kind) object")
            try require(o.name.name == name && (r == .namespaces || o.name.namespace == meta?["namespace"]?.text ?? "default"),
                        "\(what): upserts \(o.name), the line names \(String(describing: name)) in \(String(describing: meta?["namespace"]?.text))")
            do { try ObjectCheck.check(o) } catch { throw CheckFailure("\(what): \(error)") }
            try require(page == [o], "\(what): upserts \(o), a page of that object holds \(page)")
        case .delete(let key, let v):
            try require((upserting || type == "DELETED") && v == version && key == deleteKey,
                        "\(what): deletes \(key) (version \(String(describing: v))) from a \(type) line naming \(String(describing: deleteKey))")
            // An object the rules reject: its old version must go too.
            try require(!upserting || page.isEmpty, "\(what): a \(type) line deletes what a page of it holds: \(page)")
        case .bookmark(let v):
            try require(type == "BOOKMARK" && v == version, "\(what): bookmark \(String(describing: v)) from a \(type) line")
        case .gone:
            try require(type == "ERROR" && object["code"]?.integer == 410, "\(what): gone from a \(type) line, code \(String(describing: object["code"]))")
        case .error(let code, let message):
            try require(type == "ERROR" && code != 410 && code == object["code"]?.integer ?? 500
                        && message == object["message"]?.text ?? "watch error", "\(what): error \(code) \(message) from a \(type) line")
        case .ignored:
            try require(!["ERROR", "BOOKMARK"].contains(type) && (type != "DELETED" || name == nil) && (!upserting || (name == nil && page.isEmpty)),
                        "\(what): a \(type) line naming \(String(describing: name)) is ignored")
        }
    }

    static func checkList(_ r: KubeResource, _ bytes: [UInt8], _ parsed: Result<JSONValue, JSONValue.ParseError>) throws {
        let what = "\(r) page"
        let page: KubeSource.Page
        do {
            page = try source.decodeList(r, bytes)
        } catch let e as JSONValue.ParseError {
            guard case .failure(let p) = parsed, e.offset == p.offset, e.message == p.message else {
                throw CheckFailure("\(what): threw \(e), the parser \(parsed)")
            }
            return
        } catch {
            throw CheckFailure("\(what): threw \(type(of: error)), not a JSON error: \(error)")
        }
        guard case .success(let body) = parsed else { throw CheckFailure("\(what): a page from bytes that do not parse") }
        try require(page.resourceVersion == body["metadata"]?["resourceVersion"]?.text && page.continueToken == body["metadata"]?["continue"]?.text,
                    "\(what): version \(String(describing: page.resourceVersion)), continue \(String(describing: page.continueToken)) for metadata \(String(describing: body["metadata"]))")
        var upserted: [ClusterObject] = []
        for item in body["items"]?.items ?? [] {
            let line = encode(.object([("type", .string("ADDED")), ("object", item)]))
            if case .upsert(let o, _) = try source.decodeEvent(r, line) { upserted.append(o) }
        }
        try require(page.items == upserted, "\(what): holds \(page.items), its items as ADDED events upsert \(upserted)")
        for o in page.items {
            try require(o.kind == r.kind, "\(what): a \(o.kind) object")
            do { try ObjectCheck.check(o) } catch { throw CheckFailure("\(what): \(error)") }
        }
    }

    // MARK: - The JSON reader

    static func checkReader(_ bytes: [UInt8], _ parsed: Result<JSONValue, JSONValue.ParseError>) throws {
        if case .success(let v) = parsed {
            let text = encode(v)
            guard let back = try? JSONValue.parse(text) else { throw CheckFailure("\(v) written as JSON does not read back: \(String(decoding: text, as: UTF8.self))") }
            try require(same(v, back), "\(v) written as JSON reads back as \(back)")
        }
        guard !bytes.contains(0), !hasByteOrderMark(bytes), !hasSurrogateEscape(bytes), !hasTrailingComma(bytes),
              let f = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]), height(f) <= 60 else { return }
        switch parsed {
        case .failure(let e):
            throw CheckFailure("JSON that Foundation reads (\(f)) is rejected: \(e)")
        case .success(let v):
            try require(agrees(v, f, context: .other), "JSON read here as \(v), by Foundation as \(f)")
        }
    }

    /// U+FEFF anywhere: Foundation drops it at the start of the document and at the start of a
    /// string (a key `\u{FEFF}code` reads as `code`; found by this target), where RFC 8259 and
    /// this reader keep it as the character it is.
    static func hasByteOrderMark(_ bytes: [UInt8]) -> Bool {
        bytes.indices.dropLast(2).contains { bytes[$0] == 0xEF && bytes[$0 + 1] == 0xBB && bytes[$0 + 2] == 0xBF }
    }

    /// RFC 8259 text for a value: strings escaped only where JSON requires it.
    static func encode(_ v: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(v, &out)
        return out
    }

    static func write(_ v: JSONValue, _ out: inout [UInt8]) {
        switch v {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(m.key, &out)
                out.append(UInt8(ascii: ":"))
                write(m.value, &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let s): writeString(s, &out)
        case .number(let text): out += text.utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .null: out += "null".utf8
        }
    }

    static func writeString(_ s: String, _ out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && same($0.value, $1.value) }
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.string(let x), .string(let y)), (.number(let x), .number(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// Our value against Foundation's. Keys that repeat are left out (which copy wins is not
    /// JSON's to say); the keys the reader skips on purpose (`JSONValue.Context`) are absent here.
    static func agrees(_ v: JSONValue, _ f: Any, context: JSONValue.Context) -> Bool {
        switch v {
        case .object(let members):
            guard let d = f as? [String: Any] else { return false }
            var counts: [String: Int] = [:]
            for m in members { counts[m.key, default: 0] += 1 }
            for m in members where counts[m.key] == 1 {
                let inner: JSONValue.Context
                switch m.value {
                case .object, .array: inner = JSONValue.Context(m.key)
                default: inner = .other
                }
                guard let fv = d[m.key], agrees(m.value, fv, context: inner) else { return false }
            }
            return d.keys.allSatisfy { counts[$0] != nil || context.skips($0) }
        case .array(let items):
            guard let a = f as? [Any], a.count == items.count else { return false }
            return zip(items, a).allSatisfy { agrees($0, $1, context: context) }
        case .string(let s):
            return (f as? String) == s
        case .number(let text):
            guard let n = f as? NSNumber, let x = Double(text) else { return false }
            let y = n.doubleValue
            return x == y || abs(x - y) <= 1e-12 * max(abs(x), abs(y))
        case .bool(let b):
            return (f as? Bool) == b
        case .null:
            return f is NSNull
        }
    }

    /// Nesting as the reader counts it: a scalar inside n containers is at depth n.
    static func height(_ f: Any) -> Int {
        if let d = f as? [String: Any] { return 1 + (d.values.map(height).max() ?? 0) }
        if let a = f as? [Any] { return 1 + (a.map(height).max() ?? 0) }
        return 0
    }

    /// A comma before `}` or `]` outside strings: not JSON, yet Foundation accepts it.
    static func hasTrailingComma(_ b: [UInt8]) -> Bool {
        var inString = false, escaped = false, afterComma = false
        for c in b {
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true; afterComma = false
            case UInt8(ascii: ","): afterComma = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"): if afterComma { return true }
            case 0x20, 0x09, 0x0A, 0x0D: break
            default: afterComma = false
            }
        }
        return false
    }

    /// `\uD800`–`\uDFFF` anywhere (a pair or a lone half).
    static func hasSurrogateEscape(_ b: [UInt8]) -> Bool {
        guard b.count >= 4 else { return false }
        for i in 0..<(b.count - 3) where b[i] == UInt8(ascii: "\\") && (b[i + 1] == UInt8(ascii: "u")) && (b[i + 2] | 0x20) == UInt8(ascii: "d") {
            if "89abcdef".utf8.contains(b[i + 3] | 0x20) { return true }
        }
        return false
    }
}
