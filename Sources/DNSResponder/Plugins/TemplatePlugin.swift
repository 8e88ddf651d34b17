import DNSWire
import RecordIndex

/// The part of Go's text/template that real Corefiles' templates use: `{{ .Name }}`,
/// `{{ .Zone }}`, `{{ .Class }}`, `{{ .Type }}`, `{{ index .Match N }}`, `{{ .Group.NAME }}`
/// (and `{{ index .Group "NAME" }}`). Anything else between `{{` and `}}` is refused when the
/// Corefile loads, never passed through.
public struct RecordTemplate: Sendable, Equatable, CustomStringConvertible {
    enum Piece: Sendable, Equatable {
        case text(String)
        case name, zone, recordClass, type
        case match(Int)
        case group(String)
    }

    public struct Values: Sendable {
        public var name: String
        public var zone: String
        public var recordClass: String
        public var type: String
        public var match: [String]
        public var groups: [String: String]
        public init(name: String, zone: String, recordClass: String, type: String, match: [String], groups: [String: String]) {
            self.name = name
            self.zone = zone
            self.recordClass = recordClass
            self.type = type
            self.match = match
            self.groups = groups
        }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    let pieces: [Piece]
    public let source: String
    public var description: String { source }

    public init(_ source: String) throws {
        self.source = source
        var pieces: [Piece] = []
        var rest = Substring(source)
        while let open = rest.firstRange(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw ParseError(description: "unclosed \"{{\" in template \"\(source)\"")
            }
            let action = rest[open.upperBound..<close.lowerBound].trimmingSpaces
            pieces.append(try Self.piece(String(action), source))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        self.pieces = pieces
    }

    static func piece(_ action: String, _ source: String) throws -> Piece {
        switch action {
        case ".Name": return .name
        case ".Zone": return .zone
        case ".Class": return .recordClass
        case ".Type": return .type
        default: break
        }
        let words = action.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.count == 3, words[0] == "index", words[1] == ".Match", let n = Int(words[2]), n >= 0 { return .match(n) }
        if words.count == 3, words[0] == "index", words[1] == ".Group", words[2].count >= 2, words[2].hasPrefix("\""), words[2].hasSuffix("\"") {
            return .group(String(words[2].dropFirst().dropLast()))
        }
        if words.count == 1, action.hasPrefix(".Group."), action.count > 7 { return .group(String(action.dropFirst(7))) }
        throw ParseError(description: "template action \"{{ \(action) }}\" is not supported (supported: .Name, .Zone, .Class, .Type, index .Match N, .Group.NAME) in \"\(source)\"")
    }

    /// The text with the values in. A missing group or match index gives "" (Go prints
    /// "<no value>" for a missing map key and fails on an index out of range; either way the
    /// record is unusable, and the reply is SERVFAIL when it does not parse).
    public func render(_ v: Values) -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .text(let s): out += s
            case .name: out += v.name
            case .zone: out += v.zone
            case .recordClass: out += v.recordClass
            case .type: out += v.type
            case .match(let n): out += n < v.match.count ? v.match[n] : ""
            case .group(let g): out += v.groups[g] ?? ""
            }
        }
        return out
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

/// CoreDNS `template CLASS TYPE [ZONE...] { match; answer; additional; authority; rcode;
/// fallthrough; upstream }`.
public struct TemplatePlugin: Sendable {
    /// nil: ANY.
    public var recordClass: RecordClass?
    public var type: RecordType?
    public var zones: [DNSName]
    /// At least one: `.*` when none is given (CoreDNS's default).
    public var regexes: [PluginRegex]
    public var answer: [RecordTemplate]
    public var additional: [RecordTemplate]
    public var authority: [RecordTemplate]
    public var rcode: ResponseCode
    public var fall: Fallthrough?
    /// Resolve the CNAME target of an A/AAAA answer (CoreDNS resolves it through the whole
    /// server; here through the cluster zones, then the upstreams).
    public var upstream: Bool

    public init(recordClass: RecordClass?, type: RecordType?, zones: [DNSName], regexes: [PluginRegex], answer: [RecordTemplate] = [],
                additional: [RecordTemplate] = [], authority: [RecordTemplate] = [], rcode: ResponseCode = .noError,
                fall: Fallthrough? = nil, upstream: Bool = false) throws {
        self.recordClass = recordClass
        self.type = type
        self.zones = zones
        self.regexes = regexes.isEmpty ? [try PluginRegex(".*")] : regexes
        self.answer = answer
        self.additional = additional
        self.authority = authority
        self.rcode = rcode
        self.fall = fall
        self.upstream = upstream
    }

    enum Match {
        case matched(RecordTemplate.Values)
        /// Not this template's (zone, class, type, or no regex and fallthrough): try the next.
        case skip
        /// Its zone, class and type, no regex, no fallthrough.
        case refuse
    }

    /// CoreDNS template.go `match`: the zone, then class and type (ANY on either side matches),
    /// then the regexes in order against the lower-cased name with its trailing dot.
    func match(_ q: Question, name: String) -> Match {
        guard let zone = zones.filter({ q.name.isSubdomain(of: $0) }).max(by: { $0.wire.count < $1.wire.count }) else { return .skip }
        if let c = recordClass, q.recordClass != .any, q.recordClass != c { return .skip }
        if let t = type, q.type != .any, q.type != t { return .skip }
        for regex in regexes {
            guard let m = regex.match(name) else { continue }
            let cls = q.recordClass != .any ? q.recordClass : (recordClass ?? .any)
            let typ = q.type != .any ? q.type : (type ?? .any)
            return .matched(RecordTemplate.Values(name: name, zone: zone.description.lowercased(), recordClass: cls.description,
                                                  type: typ.description, match: m, groups: regex.groups(m)))
        }
        if let fall, fall.through(q.name) { return .skip }
        return .refuse
    }

    /// The reply for a matched question: its rcode, its records, AA (CoreDNS sets it). A record
    /// that does not parse once filled in is a SERVFAIL, as in CoreDNS.
    func reply(_ values: RecordTemplate.Values) -> Answer {
        guard rcode != .servFail else { return .error(.servFail) }
        var answer = Answer(rcode: rcode, authoritative: true)
        do {
            let an = try self.answer.map { try RecordText.parse($0.render(values)) }
            let ns = try authority.map { try RecordText.parse($0.render(values)) }
            let ar = try additional.map { try RecordText.parse($0.render(values)) }
            // One RRset per record: the encoder keeps them whole and in order.
            answer.answer = an.map { [$0] }
            answer.authority = ns.map { [$0] }
            answer.additional = ar.map { [$0] }
        } catch {
            return .error(.servFail)
        }
        return answer
    }

    /// Every record template filled with sample values ("1" for each match and group) and
    /// parsed, so a record of a type we cannot write, or of the wrong shape, is refused when the
    /// Corefile loads. Values that depend on the question (an address made of groups) are
    /// checked per query: one that does not parse then is a SERVFAIL, as in CoreDNS.
    public func validate() throws {
        let zone = zones.first?.description ?? "."
        var values = RecordTemplate.Values(name: "1." + (zone == "." ? "" : zone), zone: zone, recordClass: (recordClass ?? .in).description,
                                           type: (type ?? .a).description, match: Array(repeating: "1", count: 100), groups: [:])
        for t in answer + authority + additional {
            for g in t.pieces { if case .group(let n) = g { values.groups[n] = "1" } }
            do {
                _ = try RecordText.parse(t.render(values))
            } catch let e as RecordText.ParseError where e.isValue {
                continue
            }
        }
    }
}

/// The block's templates together (CoreDNS's one template handler per server block).
enum TemplateStage {
    /// CoreDNS template.go ServeDNS: names outside every template's zones go on; otherwise the
    /// templates are tried in order, the first match answers. A template whose zone, class and
    /// type fit but no regex matches ends the search unless it falls through: CoreDNS then
    /// returns NXDOMAIN without writing a reply, and its server sends nothing (the client times
    /// out). Here the client gets that NXDOMAIN (AA, no records) instead of silence.
    static func answer(_ templates: [TemplatePlugin], _ q: Question, snapshot: Snapshot, forwarding: Bool) -> PluginStep {
        guard templates.contains(where: { t in t.zones.contains { q.name.isSubdomain(of: $0) } }) else { return .next }
        let name = q.name.description.lowercased()
        for t in templates {
            switch t.match(q, name: name) {
            case .skip: continue
            case .refuse: return .answer(Answer(rcode: .nxDomain, authoritative: true))
            case .matched(let values):
                let answer = t.reply(values)
                if t.upstream, q.type == .a || q.type == .aaaa, let last = answer.answer.last?.last, case .cname(let target) = last.rdata {
                    return chase(answer, target, q, snapshot: snapshot, forwarding: forwarding)
                }
                return .answer(answer)
            }
        }
        return .next
    }

    /// `upstream`: the CNAME's target resolved by the rest of the path, after the template's records.
    static func chase(_ answer: Answer, _ target: DNSName, _ q: Question, snapshot: Snapshot, forwarding: Bool) -> PluginStep {
        switch Responder.resolve(Question(name: target, type: q.type), in: snapshot, forwarding: forwarding) {
        case .answer(let resolved):
            var out = answer
            out.answer += resolved.answer
            return .answer(out)
        case .forward(let t, let prefix):
            var chain = answer
            if let prefix { chain.answer += prefix.answer }
            return .resolve(.forward(target: t, prefix: chain))
        case .forwardSearch:
            return .answer(answer)
        }
    }
}
