/// Presentation (master-file) text for names: RFC 1035 §5.1 escapes `\X` and `\DDD`.
extension DNSName: CustomStringConvertible, LosslessStringConvertible {
    /// Parses absolute presentation text; a trailing dot is optional, "." and "" are the root.
    public init?(_ description: String) {
        guard let name = try? DNSName(parsing: description) else { return nil }
        self = name
    }

    /// Parses presentation text, with `origin` appended when the text has no trailing dot and an
    /// origin is given. Throws with the character index of the problem.
    public init(parsing text: String, origin: DNSName? = nil) throws {
        let chars = Array(text.utf8)
        if chars.isEmpty || chars == [0x2E] {
            self = .root
            return
        }
        var out: [UInt8] = []
        var label: [UInt8] = []
        var i = 0
        var absolute = false
        func closeLabel(at index: Int) throws {
            guard !label.isEmpty else { throw WireError(.badPresentation("empty label"), at: index) }
            guard label.count <= 63 else { throw WireError(.labelTooLong, at: index) }
            out.append(UInt8(label.count))
            out.append(contentsOf: label)
            label.removeAll(keepingCapacity: true)
        }
        while i < chars.count {
            let c = chars[i]
            if c == 0x5C {  // backslash
                guard i + 1 < chars.count else { throw WireError(.badPresentation("dangling escape"), at: i) }
                let d1 = chars[i + 1]
                if d1 >= 0x30 && d1 <= 0x39 {
                    guard i + 3 < chars.count,
                          chars[(i + 1)...(i + 3)].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                        throw WireError(.badPresentation("\\DDD needs three digits"), at: i)
                    }
                    let digits = chars[(i + 1)...(i + 3)]
                    let value = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                    guard value <= 255 else { throw WireError(.badPresentation("\\DDD over 255"), at: i) }
                    label.append(UInt8(value))
                    i += 4
                } else {
                    label.append(d1)
                    i += 2
                }
                continue
            }
            if c == 0x2E {  // dot
                try closeLabel(at: i)
                if i == chars.count - 1 { absolute = true }
                i += 1
                continue
            }
            label.append(c)
            i += 1
        }
        if !label.isEmpty { try closeLabel(at: i) }
        if !absolute, let origin {
            out.append(contentsOf: origin.wire)
        } else {
            out.append(0)
        }
        guard out.count <= 255 else { throw WireError(.nameTooLong, at: 0) }
        self.wire = out
    }

    /// Absolute presentation text with a trailing dot; special and non-printable bytes escaped.
    public var description: String {
        if isRoot { return "." }
        var s: [UInt8] = []
        s.reserveCapacity(wire.count + 4)
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            for b in wire[(i + 1)...(i + len)] {
                DNSName.appendEscaped(b, to: &s)
            }
            s.append(0x2E)
            i += len + 1
        }
        return String(decoding: s, as: UTF8.self)
    }

    static func appendEscaped(_ b: UInt8, to s: inout [UInt8]) {
        switch b {
        case 0x2E, 0x5C, 0x22, 0x3B, 0x28, 0x29, 0x40, 0x24:  // . \ " ; ( ) @ $
            s.append(0x5C)
            s.append(b)
        case 0x21...0x7E:
            s.append(b)
        default:
            s.append(0x5C)
            s.append(0x30 + b / 100)
            s.append(0x30 + (b / 10) % 10)
            s.append(0x30 + b % 10)
        }
    }
}
