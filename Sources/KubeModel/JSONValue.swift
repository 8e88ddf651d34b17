/// A JSON document as the Kubernetes API sends it (RFC 8259), read in one pass from bytes.
/// Fields that DNS never reads and that dominate real objects (`managedFields`, `annotations`,
/// owner references, uids, an endpoint's topology) are checked but skipped without being
/// materialised (`JSONValue.skips`), so a list page costs what DNS keeps, not what the API
/// server stores.
public enum JSONValue: Sendable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number's text, as written: DNS reads only integers (ports).
    case number(String)
    case bool(Bool)
    case null

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public init(offset: Int, message: String) {
            self.offset = offset
            self.message = message
        }
        public var description: String { "JSON at byte \(offset): \(message)" }
    }

    /// Where an object or array is, for `skips`: the key of the member it is (for an array's
    /// items, the array's key).
    package enum Context {
        case metadata, endpoints, targetRef, other

        package init(_ key: String) {
            // By length first: most keys are none of these, and most are not that long.
            switch key.utf8.count {
            case 8 where key == "metadata": self = .metadata
            case 9 where key == "endpoints": self = .endpoints
            case 9 where key == "targetRef": self = .targetRef
            default: self = .other
            }
        }

        /// True for a member DNS never reads: elsewhere the same key may be data, e.g. a label.
        /// `ObjectRules` reads `metadata.name`, `namespace`, `labels`, `deletionTimestamp` and
        /// `resourceVersion`, and of an endpoint `addresses`, `conditions`, `hostname` and
        /// `targetRef.kind`/`name`.
        package func skips(_ key: String) -> Bool {
            switch self {
            case .other:
                return false
            case .metadata:
                // By length first: a metadata has a dozen keys, compared with nine each.
                switch key.utf8.count {
                case 3: return key == "uid"
                case 8: return key == "selfLink"
                case 10: return key == "generation" || key == "finalizers"
                case 11: return key == "annotations"
                case 12: return key == "generateName"
                case 13: return key == "managedFields"
                case 15: return key == "ownerReferences"
                case 17: return key == "creationTimestamp"
                default: return false
                }
            case .endpoints:
                switch key {
                case "nodeName", "zone", "hints", "deprecatedTopology": return true
                default: return false
                }
            case .targetRef:
                return key == "uid" || key == "resourceVersion"
            }
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ParseError) -> JSONValue in
            var p = JSONReader(bytes: buffer)
            p.skipSpace()
            let value = try p.value(depth: 0, context: .other)
            p.skipSpace()
            guard p.at == buffer.count else { throw ParseError(offset: p.at, message: "trailing bytes") }
            return value
        }
    }

    public subscript(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for m in members where m.key == key { return m.value }
        return nil
    }
}

/// The reader behind `JSONValue.parse`: bounds-checked at every byte, nesting limited.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var at = 0
    static let maxDepth = 64

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ message: String) -> JSONValue.ParseError { JSONValue.ParseError(offset: at, message: message) }

    mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
    }

    mutating func expect(_ byte: UInt8) throws(JSONValue.ParseError) {
        guard at < bytes.count, bytes[at] == byte else { throw fail("expected \(Character(Unicode.Scalar(byte)))") }
        at += 1
    }

    /// `context`: where the value is (`JSONValue.Context`).
    mutating func value(depth: Int, context: JSONValue.Context) throws(JSONValue.ParseError) -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("nested too deeply") }
        guard at < bytes.count else { throw fail("unexpected end") }
        switch bytes[at] {
        case UInt8(ascii: "{"):
            at += 1
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object([]) }
            // Room for what most Kubernetes objects hold after skipping: one allocation, not
            // one per doubling.
            var members: [(key: String, value: JSONValue)] = []
            members.reserveCapacity(4)
            while true {
                skipSpace()
                let key = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                if context.skips(key) {
                    try skipValue(depth: depth + 1)
                } else {
                    // What is inside the value matters only when it is an object or an array.
                    let inner = at < bytes.count && (bytes[at] == UInt8(ascii: "{") || bytes[at] == UInt8(ascii: "["))
                        ? JSONValue.Context(key) : .other
                    members.append((key, try value(depth: depth + 1, context: inner)))
                }
                skipSpace()
                guard at < bytes.count else { throw fail("unterminated object") }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                try expect(UInt8(ascii: "}"))
                return .object(members)
            }
        case UInt8(ascii: "["):
            at += 1
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array([]) }
            var items: [JSONValue] = []
            items.reserveCapacity(2)
            while true {
                skipSpace()
                // Items are read in the array's context: `endpoints[].nodeName`.
                items.append(try value(depth: depth + 1, context: context))
                skipSpace()
                guard at < bytes.count else { throw fail("unterminated array") }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                try expect(UInt8(ascii: "]"))
                return .array(items)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            return .number(try number())
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let n = word.utf8CodeUnitCount
        guard at + n <= bytes.count else { throw fail("unexpected end") }
        for i in 0..<n where bytes[at + i] != word.utf8Start[i] { throw fail("bad literal") }
        at += n
    }

    mutating func number() throws(JSONValue.ParseError) -> String {
        let start = at
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
        var digits = 0
        while at < bytes.count {
            let c = bytes[at]
            if c >= 0x30 && c <= 0x39 { digits += 1 } else if c != UInt8(ascii: ".") && c != UInt8(ascii: "e") && c != UInt8(ascii: "E")
                && c != UInt8(ascii: "+") && c != UInt8(ascii: "-") { break }
            at += 1
        }
        guard digits > 0 else { at = start; throw fail("expected a value") }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
    }

    /// A string, unescaped. Plain runs are copied at once; escapes are rare in Kubernetes data.
    mutating func string() throws(JSONValue.ParseError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = at
        while at < bytes.count {
            let c = bytes[at]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                at += 1
                return s
            }
            if c == UInt8(ascii: "\\") { return try escapedString(from: start) }
            guard c >= 0x20 else { throw fail("control character in a string") }
            at += 1
        }
        throw fail("unterminated string")
    }

    mutating func escapedString(from start: Int) throws(JSONValue.ParseError) -> String {
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<at]))
        while at < bytes.count {
            let c = bytes[at]
            at += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard at < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[at]
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A surrogate pair: the low half must follow.
                        guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else { throw fail("lone surrogate") }
                        at += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("bad surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("bad \\u escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw fail("bad escape")
                }
            default:
                guard c >= 0x20 else { throw fail("control character in a string") }
                out.append(c)
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard at + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[at]
            at += 1
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("bad hex digit")
            }
            v = v << 4 | d
        }
        return v
    }

    /// Steps over one value without keeping it (still checked, so a broken body fails).
    mutating func skipValue(depth: Int) throws(JSONValue.ParseError) {
        guard depth < Self.maxDepth else { throw fail("nested too deeply") }
        guard at < bytes.count else { throw fail("unexpected end") }
        switch bytes[at] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[at] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            at += 1
            skipSpace()
            if at < bytes.count, bytes[at] == close { at += 1; return }
            while true {
                skipSpace()
                if isObject {
                    try skipString()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                guard at < bytes.count else { throw fail("unterminated") }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                try expect(close)
                return
            }
        case UInt8(ascii: "\""):
            try skipString()
        default:
            _ = try value(depth: depth, context: .other)
        }
    }

    mutating func skipString() throws(JSONValue.ParseError) {
        try expect(UInt8(ascii: "\""))
        while at < bytes.count {
            let c = bytes[at]
            at += 1
            if c == UInt8(ascii: "\"") { return }
            if c == UInt8(ascii: "\\") { at += 1 }
        }
        throw fail("unterminated string")
    }
}
