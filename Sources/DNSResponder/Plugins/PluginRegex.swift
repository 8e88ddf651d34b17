import Foundation

/// A regular expression as CoreDNS's Corefiles write them (Go RE2 syntax), matched as Go's
/// `FindStringSubmatch` does: the first match anywhere, with its groups. ICU, under
/// NSRegularExpression, reads the same syntax for what Corefiles use; Go's `(?P<name>…)` named
/// groups are spelled `(?<name>…)` for it.
public struct PluginRegex: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    let regex: NSRegularExpression
    /// Group names in order of their opening parenthesis (nil for unnamed groups), index 1 first.
    let groupNames: [String?]

    public init(_ pattern: String) throws {
        self.pattern = pattern
        let icu = pattern.replacingOccurrences(of: "(?P<", with: "(?<")
        regex = try NSRegularExpression(pattern: icu)
        groupNames = Self.groupNames(icu)
    }

    public var groupCount: Int { regex.numberOfCaptureGroups }
    public var description: String { pattern }

    public static func == (a: PluginRegex, b: PluginRegex) -> Bool { a.pattern == b.pattern }

    /// The whole match then each group ("" for a group that took no part), or nil.
    public func match(_ s: String) -> [String]? {
        let ns = s as NSString
        guard let m = regex.firstMatch(in: s, range: NSRange(location: 0, length: ns.length)) else { return nil }
        return (0..<m.numberOfRanges).map { i in
            let r = m.range(at: i)
            return r.location == NSNotFound ? "" : ns.substring(with: r)
        }
    }

    /// The named groups of a match from `match`.
    public func groups(_ match: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for (i, m) in match.enumerated() { out[String(i)] = m }
        for (i, name) in groupNames.enumerated() where i + 1 < match.count {
            if let name { out[name] = match[i + 1] }
        }
        return out
    }

    /// Capturing groups in order: `(` not followed by `?`, or `(?<name>` / `(?'name'`.
    static func groupNames(_ p: String) -> [String?] {
        let c = Array(p)
        var names: [String?] = []
        var i = 0
        var inClass = false
        while i < c.count {
            switch c[i] {
            case "\\": i += 1
            case "[": inClass = true
            case "]": inClass = false
            case "(" where !inClass:
                if i + 1 < c.count, c[i + 1] == "?" {
                    if i + 2 < c.count, c[i + 2] == "<" || c[i + 2] == "'", i + 3 < c.count, c[i + 3] != "=", c[i + 3] != "!" {
                        let close: Character = c[i + 2] == "<" ? ">" : "'"
                        var j = i + 3
                        var name = ""
                        while j < c.count, c[j] != close { name.append(c[j]); j += 1 }
                        names.append(name)
                    }
                } else {
                    names.append(nil)
                }
            default: break
            }
            i += 1
        }
        return names
    }
}
