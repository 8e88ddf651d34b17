import DNSWire

/// How a rewrite rule matches a name (lower-cased presentation text with its trailing dot, as
/// CoreDNS's `state.Name()`), and what it turns it into.
public enum NameMatch: Sendable, Equatable {
    case exact(String)
    case prefix(String)
    case suffix(String)
    case substring(String)
    case regex(PluginRegex)

    /// The rewritten text, or nil when `s` does not match. For a regex, `{N}` in the
    /// replacement is the Nth group (`{0}` the whole match) and the replacement is the whole
    /// new name (CoreDNS name.go, regexStringRewriter).
    public func rewrite(_ s: String, to replacement: String) -> String? {
        switch self {
        case .exact(let from):
            return s == from ? replacement : nil
        case .prefix(let from):
            return s.hasPrefix(from) ? replacement + String(s.dropFirst(from.count)) : nil
        case .suffix(let from):
            return s.hasSuffix(from) ? String(s.dropLast(from.count)) + replacement : nil
        case .substring(let from):
            return s.contains(from) ? s.replacing(from, with: replacement) : nil
        case .regex(let regex):
            guard let groups = regex.match(s) else { return nil }
            var out = replacement
            for (i, g) in groups.enumerated() { out = out.replacing("{\(i)}", with: g) }
            return out
        }
    }
}

/// A rule for the reply: names written back so the client sees its own namespace
/// (`answer name FROM TO`: owner names; `answer value FROM TO`: names inside RDATA).
public struct AnswerRewrite: Sendable, Equatable {
    public enum Field: Sendable, Equatable { case name, value }
    public var field: Field
    public var match: NameMatch
    public var replacement: String

    public init(field: Field, match: NameMatch, replacement: String) {
        self.field = field
        self.match = match
        self.replacement = replacement
    }

    func rewrite(_ name: DNSName) -> DNSName {
        guard let text = match.rewrite(name.description.lowercased(), to: replacement), let out = try? DNSName(parsing: text) else { return name }
        return out
    }
}

/// CoreDNS `rewrite [continue|stop] name [exact|prefix|suffix|substring|regex] FROM TO [answer …]`.
public struct RewriteRule: Sendable, Equatable {
    public var match: NameMatch
    public var replacement: String
    /// `continue`: the next rule sees the rewritten name; `stop` (the default): the last rule applied.
    public var stop: Bool
    public var answers: [AnswerRewrite]

    public init(match: NameMatch, replacement: String, stop: Bool = true, answers: [AnswerRewrite] = []) {
        self.match = match
        self.replacement = replacement
        self.stop = stop
        self.answers = answers
    }

    public enum Outcome: Sendable, Equatable {
        case unchanged
        case rewritten(DNSName, ResponseRewrite)
        /// The new name is not a domain name: SERVFAIL, as CoreDNS answers it.
        case invalid
    }

    /// CoreDNS rewrite.go: the rules in order, each on the name as the rules before it left it;
    /// a `stop` rule that matched ends the list. The answer rules of every rule that matched are
    /// kept, to be undone last-first on the reply.
    public static func apply(_ rules: [RewriteRule], to name: DNSName) -> Outcome {
        var text = name.description.lowercased()
        var matched = false
        var answers: [AnswerRewrite] = []
        for rule in rules {
            guard let new = rule.match.rewrite(text, to: rule.replacement) else { continue }
            text = new
            matched = true
            answers += rule.answers
            if rule.stop { break }
        }
        guard matched else { return .unchanged }
        guard let out = try? DNSName(parsing: text) else { return .invalid }
        return .rewritten(out, ResponseRewrite(original: name, answers: answers))
    }
}

/// What the reply to a rewritten question needs: the client's own question is echoed (the
/// encoder writes the client's question bytes whatever was resolved), and the answer rules
/// are applied to every record of every section, last rule first (CoreDNS reverter.go).
public struct ResponseRewrite: Sendable, Equatable {
    /// The name the client asked, before any rule.
    public var original: DNSName
    public var answers: [AnswerRewrite]

    public init(original: DNSName, answers: [AnswerRewrite]) {
        self.original = original
        self.answers = answers
    }

    public func apply(to answer: inout Answer) {
        guard !answers.isEmpty else { return }
        for s in answer.answer.indices { for r in answer.answer[s].indices { apply(&answer.answer[s][r]) } }
        for s in answer.authority.indices { for r in answer.authority[s].indices { apply(&answer.authority[s][r]) } }
        for s in answer.additional.indices { for r in answer.additional[s].indices { apply(&answer.additional[s][r]) } }
    }

    /// Owner names for `name` rules; for `value` rules the names CoreDNS rewrites inside RDATA
    /// (reverter.go: CNAME, NS and SRV targets, the SOA's MNAME; DNAME, MX and NAPTR are opaque
    /// here and stay as they are).
    func apply(_ rr: inout ResourceRecord) {
        for rule in answers.reversed() {
            switch rule.field {
            case .name:
                rr.name = rule.rewrite(rr.name)
            case .value:
                switch rr.rdata {
                case .cname(let n): rr.rdata = .cname(rule.rewrite(n))
                case .ns(let n): rr.rdata = .ns(rule.rewrite(n))
                case .srv(var s): s.target = rule.rewrite(s.target); rr.rdata = .srv(s)
                case .soa(var s): s.mname = rule.rewrite(s.mname); rr.rdata = .soa(s)
                default: break
                }
            }
        }
    }
}
