import DNSWire

/// What `check --corefile` prints for a block's plugins: one line each, with the values in force.
extension PluginBlock {
    public var summary: [String] {
        var lines: [String] = []
        if let c = chaos { lines.append("chaos version \"\(c.version)\"" + (c.authors.isEmpty ? "" : ", authors \(c.authors.joined(separator: " "))")) }
        for r in rewrite {
            let answers = r.answers.map { "answer \($0.field) \($0.match.text) \($0.replacement)" }
            lines.append((["rewrite \(r.stop ? "stop" : "continue") name \(r.match.text) \(r.replacement)"] + answers).joined(separator: ", "))
        }
        for t in templates {
            var parts = ["template \(t.recordClass?.description ?? "ANY") \(t.type?.description ?? "ANY") \(t.zones.map(\.description).joined(separator: " "))"]
            parts.append("match \(t.regexes.map(\.pattern).joined(separator: " "))")
            if t.rcode != .noError { parts.append("rcode \(t.rcode)") }
            for a in t.answer { parts.append("answer \"\(a.source)\"") }
            for a in t.authority { parts.append("authority \"\(a.source)\"") }
            for a in t.additional { parts.append("additional \"\(a.source)\"") }
            if let f = t.fall { parts.append("fallthrough \(f.zones.map(\.description).joined(separator: " "))") }
            if t.upstream { parts.append("upstream") }
            lines.append(parts.joined(separator: ", "))
        }
        if let h = hosts {
            var parts = ["hosts \(h.source.path ?? "-") \(h.zones.map(\.description).joined(separator: " "))", "\(h.source.current.count) names",
                         "ttl \(h.ttl)", h.reload == .zero ? "no reload" : "reload \(h.reload)"]
            if !h.source.reverse { parts.append("no_reverse") }
            if let f = h.fall { parts.append("fallthrough \(f.zones.map(\.description).joined(separator: " "))") }
            lines.append(parts.joined(separator: ", "))
        }
        if whoami != nil { lines.append("whoami") }
        return lines
    }
}

extension NameMatch {
    var text: String {
        switch self {
        case .exact(let s): return "exact \(s)"
        case .prefix(let s): return "prefix \(s)"
        case .suffix(let s): return "suffix \(s)"
        case .substring(let s): return "substring \(s)"
        case .regex(let r): return "regex \(r.pattern)"
        }
    }
}
