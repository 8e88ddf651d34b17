import Corefile
import DNSResponder
import DNSWire
import FileContents
import Foundation
import Logging

/// The Corefile's answer-shaping plugins (`hosts`, `template`, `rewrite`, `chaos`, `whoami`) of one server
/// block, with CoreDNS's meaning and defaults (coredns/coredns plugin/*/setup.go). An option
/// that is not understood is refused with its file and line, never skipped.
public enum CorefilePlugins {
    /// The directive names this file maps; the rest of the Corefile mapping leaves these to it.
    public static let names: Set<String> = ["hosts", "template", "rewrite", "chaos", "whoami"]

    /// One server block's plugins. `zones` are the block's zones (its keys; "." is the root).
    /// `directory` is the Corefile's directory: relative hosts file paths are resolved against it.
    public static func block(_ block: ServerBlock, zones: [DNSName], directory: String) throws -> PluginBlock {
        var out = PluginBlock(zones: zones)
        let chaos = block.directives(named: "chaos")
        if chaos.count > 1 { throw fail(chaos[1], "chaos", "can only be used once per server block") }
        if let d = chaos.first { out.chaos = try self.chaos(d) }
        for d in block.directives(named: "rewrite") { out.rewrite.append(try rewrite(d)) }
        for d in block.directives(named: "template") { out.templates.append(try template(d, zones: zones)) }
        let hosts = block.directives(named: "hosts")
        if hosts.count > 1 { throw fail(hosts[1], "hosts", "can only be used once per server block") }
        if let d = hosts.first { out.hosts = try self.hosts(d, zones: zones, directory: directory) }
        let whoami = block.directives(named: "whoami")
        if whoami.count > 1 { throw fail(whoami[1], "whoami", "can only be used once per server block") }
        if let d = whoami.first {
            guard d.arguments.isEmpty, d.block == nil else { throw fail(d, "whoami", "takes no arguments") }
            // CoreDNS runs whoami after forward, which answers every name it is given: in a block
            // with `forward .` it is never reached. (A forward of some zones only leaves the rest
            // to whoami; here whoami then answers what the cluster zones do not, forwarded or not.)
            let forwardsAll = block.directives(named: "forward").contains { $0.arguments.first == "." }
            if !forwardsAll { out.whoami = WhoamiPlugin() }
        }
        return out
    }

    static func fail(_ d: Directive, _ plugin: String, _ message: String) -> CorefileError {
        d.error("plugin \"\(plugin)\": \(message)")
    }

    // MARK: - chaos

    /// The version CoreDNS would give as `CoreDNS-1.x.y`.
    public static let defaultVersion = "clusterdns-\(AppMetrics.version)"

    /// `chaos [VERSION [AUTHORS...]]`.
    static func chaos(_ d: Directive) throws -> ChaosPlugin {
        if d.block != nil { throw fail(d, "chaos", "takes no block") }
        let version = d.arguments.first ?? defaultVersion
        let authors = Array(d.arguments.dropFirst())
        return ChaosPlugin(version: version, authors: authors, hostname: hostname())
    }

    /// gethostname(2), as Go's os.Hostname; "localhost" when it fails (CoreDNS's fallback). Not
    /// Foundation's hostName, which may resolve the name through DNS, that is, through us.
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - hosts

    /// `hosts [FILE [ZONES...]] { INLINE; ttl SECONDS; no_reverse; reload DURATION; fallthrough [ZONES...] }`.
    static func hosts(_ d: Directive, zones blockZones: [DNSName], directory: String) throws -> HostsPlugin {
        var path = "/etc/hosts"
        var zones = blockZones
        if let file = d.arguments.first {
            path = file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file)
            if d.arguments.count > 1 { zones = try d.arguments.dropFirst().map { try zone($0, d, "hosts") } }
        }
        var ttl: UInt32 = 3600
        var reverse = true
        var reload: Duration = .seconds(5)
        var fall: Fallthrough?
        var inline: [String] = []
        for line in d.block ?? [] {
            if line.block != nil { throw fail(line, "hosts", "\"\(line.name)\" takes no block") }
            switch line.name {
            case "fallthrough":
                fall = Fallthrough(zones: try line.arguments.map { try zone($0, line, "hosts") })
            case "no_reverse":
                guard line.arguments.isEmpty else { throw fail(line, "hosts", "no_reverse takes no argument") }
                reverse = false
            case "ttl":
                guard line.arguments.count == 1, let n = Int(line.arguments[0]) else { throw fail(line, "hosts", "ttl needs a number of seconds") }
                guard n > 0, n <= 65535 else { throw fail(line, "hosts", "ttl provided is invalid: \(n) (1 to 65535)") }
                ttl = UInt32(n)
            case "reload":
                guard line.arguments.count == 1 else { throw fail(line, "hosts", "reload needs a duration (zero seconds to disable)") }
                guard let r = goDuration(line.arguments[0]) else { throw fail(line, "hosts", "invalid duration for reload '\(line.arguments[0])'") }
                reload = r
            default:
                // CoreDNS reads any other line as a hosts(5) entry until `fallthrough` and skips one
                // that is not an address line; here a line that is not one is refused (a misspelt
                // option would otherwise vanish).
                guard fall == nil else { throw fail(line, "hosts", "unknown property '\(line.name)' (inline entries go before fallthrough)") }
                var address = line.name
                if let percent = address.firstIndex(of: "%") { address = String(address[..<percent]) }
                guard IPAddress(address) != nil, !line.arguments.isEmpty else {
                    throw fail(line, "hosts", "unknown property '\(line.name)' (options: ttl, no_reverse, reload, fallthrough; or an entry ADDRESS NAME...)")
                }
                inline.append(([line.name] + line.arguments).joined(separator: " "))
            }
        }
        for name in inline.flatMap({ $0.split(separator: " ").dropFirst() }) where (try? DNSName(parsing: String(name))) == nil {
            throw fail(d, "hosts", "\"\(name)\" is not a host name")
        }
        let inlineTable = HostsTable(parsing: inline.joined(separator: "\n"), zones: zones, reverse: reverse)
        let fileText = FileContents.text(path)
        let file = fileText.map { HostsTable(parsing: $0, zones: zones, reverse: reverse) }
        let source = HostsSource(path: path, inline: inlineTable, file: file, zones: zones, reverse: reverse)
        return HostsPlugin(zones: zones, ttl: ttl, reload: reload, fall: fall, source: source)
    }

    // MARK: - template

    /// `template CLASS TYPE [ZONE...] { match REGEX...; answer RR...; additional RR...; authority RR...;
    /// rcode CODE; fallthrough [ZONE...]; upstream }`.
    static func template(_ d: Directive, zones blockZones: [DNSName]) throws -> TemplatePlugin {
        guard d.arguments.count >= 2 else { throw fail(d, "template", "needs CLASS and TYPE (template CLASS TYPE [ZONE...])") }
        let classText = d.arguments[0].uppercased()
        var recordClass: RecordClass?
        switch classText {
        case "ANY": recordClass = nil
        case "IN": recordClass = .in
        case "CH", "CHAOS": recordClass = .chaos
        case "HS": recordClass = .hesiod
        default: throw fail(d, "template", "invalid query class \"\(d.arguments[0])\"")
        }
        let typeText = d.arguments[1].uppercased()
        var type: RecordType?
        if typeText != "ANY" {
            guard let t = RecordType(mnemonic: typeText) else { throw fail(d, "template", "invalid RR type \"\(d.arguments[1])\"") }
            type = t
        }
        let zones = d.arguments.count > 2 ? try d.arguments.dropFirst(2).map { try zone($0, d, "template") } : blockZones
        var regexes: [PluginRegex] = []
        var answer: [RecordTemplate] = [], additional: [RecordTemplate] = [], authority: [RecordTemplate] = []
        var rcode = ResponseCode.noError
        var fall: Fallthrough?
        var upstream = false
        for line in d.block ?? [] {
            if line.block != nil { throw fail(line, "template", "\"\(line.name)\" takes no block") }
            func records() throws -> [RecordTemplate] {
                guard !line.arguments.isEmpty else { throw fail(line, "template", "\(line.name) needs a record") }
                return try line.arguments.map {
                    do { return try RecordTemplate($0) } catch { throw fail(line, "template", "\(error)") }
                }
            }
            switch line.name {
            case "match":
                guard !line.arguments.isEmpty else { throw fail(line, "template", "match needs a regular expression") }
                for p in line.arguments {
                    do { regexes.append(try PluginRegex(p)) } catch { throw fail(line, "template", "invalid regex \"\(p)\"") }
                }
            case "answer": answer += try records()
            case "additional": additional += try records()
            case "authority": authority += try records()
            case "rcode":
                guard line.arguments.count == 1, let code = rcodeNamed(line.arguments[0]) else {
                    throw fail(line, "template", "rcode needs one of NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED")
                }
                rcode = code
            case "fallthrough":
                fall = Fallthrough(zones: try line.arguments.map { try zone($0, line, "template") })
            case "upstream":
                // CoreDNS ignores upstream's old address arguments; so do we.
                upstream = true
            default:
                throw fail(line, "template", "unknown property '\(line.name)' (match, answer, additional, authority, rcode, fallthrough, upstream)")
            }
        }
        if answer.isEmpty && authority.isEmpty && rcode == .noError {
            throw fail(d, "template", "no answer section for template found")
        }
        let t = try TemplatePlugin(recordClass: recordClass, type: type, zones: zones, regexes: regexes, answer: answer,
                                   additional: additional, authority: authority, rcode: rcode, fall: fall, upstream: upstream)
        do { try t.validate() } catch { throw fail(d, "template", "\(error)") }
        return t
    }

    static func rcodeNamed(_ s: String) -> ResponseCode? {
        switch s.uppercased() {
        case "NOERROR", "SUCCESS": return .noError
        case "FORMERR": return .formErr
        case "SERVFAIL": return .servFail
        case "NXDOMAIN": return .nxDomain
        case "NOTIMP", "NOTIMPL": return .notImp
        case "REFUSED": return .refused
        default: return nil
        }
    }

    // MARK: - rewrite

    /// `rewrite [continue|stop] name [exact|prefix|suffix|substring|regex] FROM TO [answer auto |
    /// answer name FROM TO | answer value FROM TO]...`, or the same words over the lines of a block
    /// (`rewrite stop { name regex …; answer name … }`), which CoreDNS joins into one rule.
    static func rewrite(_ d: Directive) throws -> RewriteRule {
        var args = d.arguments
        if let block = d.block {
            guard args.count < 2 else { throw fail(d, "rewrite", "a rule is either on the line or in the block, not both") }
            for line in block {
                if line.block != nil { throw fail(line, "rewrite", "\"\(line.name)\" takes no block") }
                args += [line.name] + line.arguments
            }
        }
        func bad(_ m: String) -> CorefileError { fail(d, "rewrite", m) }
        guard !args.isEmpty else { throw bad("no rule type specified") }
        var stop = true
        switch args[0].lowercased() {
        case "stop": args.removeFirst()
        case "continue": stop = false; args.removeFirst()
        default: break
        }
        guard let kind = args.first?.lowercased() else { throw bad("a stop or continue rule must begin with a rule type") }
        switch kind {
        case "name": break
        case "answer": throw bad("response rewrites must begin with a name rule")
        case "type", "class", "edns0", "ttl", "cname", "rcode":
            throw bad("rule type \"\(kind)\" is not supported (supported: name, with answer auto, answer name and answer value)")
        default: throw bad("invalid rule type \"\(args[0])\"")
        }
        args.removeFirst()
        let matchTypes = ["exact", "prefix", "suffix", "substring", "regex"]
        var matchType = "exact"
        if let first = args.first, matchTypes.contains(first.lowercased()), args.count >= 3 {
            matchType = first.lowercased()
            args.removeFirst()
        }
        guard args.count >= 2 else { throw bad("too few arguments for a name rule (name [exact|prefix|suffix|substring|regex] FROM TO)") }
        let fromText = args[0], toText = args[1]
        args.removeFirst(2)
        // `{…}` outside a regex rule's group references is CoreDNS metadata (`{kubernetes/client-namespace}`).
        for text in [fromText, toText] where matchType != "regex" && text.contains("{") {
            throw bad("\"\(text)\": metadata such as {kubernetes/client-namespace} is not supported")
        }
        let match: NameMatch
        let to: String
        switch matchType {
        case "regex":
            let regex: PluginRegex
            do { regex = try PluginRegex(fromText) } catch { throw bad("invalid regex matching pattern: \(fromText)") }
            try checkGroups(toText, regex, bad)
            match = .regex(regex)
            to = fqdn(toText)
        case "exact": match = .exact(fqdn(fromText)); to = fqdn(toText)
        case "suffix": match = .suffix(fqdn(fromText)); to = fqdn(toText)
        // CoreDNS lower-cases prefix and substring strings and leaves their dots as written.
        case "prefix": match = .prefix(fromText.lowercased()); to = toText.lowercased()
        default: match = .substring(fromText.lowercased()); to = toText.lowercased()
        }

        var answers: [AnswerRewrite] = []
        var auto = false
        var explicitNames = false
        while !args.isEmpty {
            guard args[0].lowercased() == "answer", args.count >= 2 else {
                throw bad("unexpected \"\(args[0])\" after the name rule (answer auto | answer name FROM TO | answer value FROM TO)")
            }
            let field = args[1].lowercased()
            switch field {
            case "auto":
                guard !explicitNames else { throw bad("answer auto cannot be combined with answer name") }
                guard matchType != "regex" else { throw bad("answer auto is not possible with a regex rule: write answer name FROM TO") }
                auto = true
                args.removeFirst(2)
            case "name", "value":
                guard args.count >= 4 else { throw bad("answer \(field) needs FROM and TO") }
                if field == "name" {
                    guard !auto else { throw bad("answer auto cannot be combined with answer name") }
                    explicitNames = true
                }
                let regex: PluginRegex
                do { regex = try PluginRegex(args[2]) } catch { throw bad("invalid regex matching pattern: \(args[2])") }
                if args[3].contains("{"), !args[3].allGroupReferences { throw bad("\"\(args[3])\": metadata is not supported") }
                try checkGroups(args[3], regex, bad)
                answers.append(AnswerRewrite(field: field == "name" ? .name : .value, match: .regex(regex), replacement: fqdn(args[3])))
                args.removeFirst(4)
            default:
                throw bad("invalid answer rule \"\(args[1])\" (auto, name or value)")
            }
        }
        if toText.contains("{"), !toText.allGroupReferences { throw bad("\"\(toText)\": metadata such as {kubernetes/client-namespace} is not supported") }

        // The reverse of the name rule: `answer auto` writes back owner names and names in RDATA;
        // an exact rule with no answer rule writes back the owner names (CoreDNS: "When using
        // exact name rewrite rules, the answer gets rewritten automatically").
        func reverse(_ field: AnswerRewrite.Field) -> AnswerRewrite? {
            switch match {
            case .exact(let from): return AnswerRewrite(field: field, match: .exact(to), replacement: from)
            case .prefix(let from): return AnswerRewrite(field: field, match: .prefix(to), replacement: from)
            case .suffix(let from): return AnswerRewrite(field: field, match: .suffix(to), replacement: from)
            case .substring(let from): return AnswerRewrite(field: field, match: .substring(to), replacement: from)
            case .regex: return nil
            }
        }
        if auto {
            answers = [reverse(.name), reverse(.value)].compactMap { $0 } + answers
        } else if matchType == "exact", !answers.contains(where: { $0.field == .name }), let back = reverse(.name) {
            answers.insert(back, at: 0)
        }
        return RewriteRule(match: match, replacement: to, stop: stop, answers: answers)
    }

    static func checkGroups(_ to: String, _ regex: PluginRegex, _ bad: (String) -> CorefileError) throws {
        // CoreDNS counts the distinct references; a reference past the last group is refused too
        // (it would stay in the name as written).
        var used = 0, highest = 0
        for i in 0...100 where to.contains("{\(i)}") { used += 1; highest = i }
        if used > regex.groupCount || highest > regex.groupCount {
            throw bad("the rewrite regex pattern (\(to)) uses more subexpressions than its corresponding matching regex pattern (\(regex.pattern))")
        }
    }

    static func fqdn(_ s: String) -> String {
        let l = s.lowercased()
        return l.hasSuffix(".") ? l : l + "."
    }

    // MARK: - shared

    /// A plugin's zone argument, as CoreDNS's plugin.Host normalises it: scheme and port dropped,
    /// lower case, absolute.
    static func zone(_ text: String, _ d: Directive, _ plugin: String) throws -> DNSName {
        var s = Substring(text)
        if let r = s.range(of: "://") { s = s[r.upperBound...] }
        if let colon = s.lastIndex(of: ":"), !s[..<colon].contains(":"), Int(s[s.index(after: colon)...]) != nil { s = s[..<colon] }
        if s.contains("/") { throw fail(d, plugin, "zone \"\(text)\": CIDR zones are not supported; write the reverse zone") }
        guard let name = try? DNSName(parsing: fqdn(String(s))) else { throw fail(d, plugin, "\"\(text)\" is not a zone") }
        return name
    }

    /// Go's time.ParseDuration for what Corefiles write: `0`, `5s`, `1m30s`, `500ms`, `1h`.
    static func goDuration(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        var total: Double = 0
        var rest = Substring(text)
        guard !rest.isEmpty, !rest.hasPrefix("-") else { return nil }
        if rest.hasPrefix("+") { rest = rest.dropFirst() }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !$0.isNumber && $0 != "." }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-9
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            total += value * scale
        }
        return .nanoseconds(Int64((total * 1e9).rounded()))
    }
}

extension String {
    /// Whether every `{…}` is a regex group reference `{N}`.
    var allGroupReferences: Bool {
        var rest = Substring(self)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}"), !rest[rest.index(after: open)..<close].isEmpty,
                  rest[rest.index(after: open)..<close].allSatisfy(\.isNumber) else { return false }
            rest = rest[rest.index(after: close)...]
        }
        return true
    }
}

extension PluginChain {
    /// Re-reads every hosts file with `reload` (CoreDNS: every 5 s by default) when its size or
    /// modification time changes, swapping the table whole; a file that disappears leaves the
    /// inline entries, as in CoreDNS. The work runs in these tasks, never on an event loop.
    public func startReloading(logger: Logger) -> [Task<Void, Never>] {
        hostsPlugins.compactMap { hosts -> Task<Void, Never>? in
            guard let path = hosts.source.path else { return nil }
            if !FileManager.default.fileExists(atPath: path) {
                logger.warning("hosts file does not exist; serving its inline entries", metadata: ["path": "\(path)"])
            }
            guard hosts.reload > .zero else { return nil }
            let source = hosts.source, interval = hosts.reload
            return Task {
                var last = HostsFileState(path)
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    let now = HostsFileState(path)
                    guard now != last else { continue }
                    last = now
                    let text = FileContents.text(path)
                    source.replace(fileText: text)
                    logger.info("hosts file reloaded", metadata: ["path": "\(path)", "names": "\(source.current.count)"])
                }
            }
        }
    }
}

/// What tells a hosts file changed (CoreDNS compares modification time and size).
struct HostsFileState: Equatable {
    var modified: Date?
    var size: Int?
    init(_ path: String) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        modified = attributes?[.modificationDate] as? Date
        size = (attributes?[.size] as? NSNumber)?.intValue
    }
}
