import FileContents
import Foundation

/// Reads a Corefile the way CoreDNS (through Caddy's lexer and dispenser) does:
///
/// - tokens are separated by spaces, tabs and newlines; a `"quoted token"` may hold spaces and
///   `\"`; `#` at the start of a token comments out the rest of the line;
/// - a directive is the tokens of one line; a `{` ending the line opens its block, closed by a
///   `}` token (blocks nest);
/// - a server block is one or more keys (separated by spaces or commas, possibly over several
///   lines ending in a comma) followed by `{ … }`;
/// - `(name) { … }` at the top level defines a snippet; `import NAME` pastes it, `import GLOB`
///   pastes files (relative to the importing file's directory; a glob matching nothing is fine,
///   a plain path that does not exist is an error), wherever a line may start;
/// - `{$VAR}` (and Windows-style `{%VAR%}`) in a token is the environment variable, empty when unset.
public struct CorefileParser {
    public var environment: [String: String]
    /// Imports nested deeper than this are a loop.
    let maxDepth = 16

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Parses the file at `path` and everything it imports.
    public func parse(file path: String) throws -> Corefile {
        guard let text = FileContents.text(path) else {
            throw CorefileError(nil, "\(path): cannot read the Corefile")
        }
        return try parse(text: text, file: path)
    }

    /// Parses `text` as if read from `file` (imports are relative to its directory).
    public func parse(text: String, file: String) throws -> Corefile {
        var state = State()
        state.files = [file]
        let raw = lex(text, file: file)
        let tokens = try expand(raw, depth: 0, state: &state, topLevel: true, directory: Self.directory(of: file))
        var reader = TokenReader(tokens: tokens)
        var servers: [ServerBlock] = []
        while !reader.atEnd {
            servers.append(try serverBlock(&reader))
        }
        if servers.isEmpty { throw CorefileError(CorefileLocation(file: file, line: 1), "no server blocks: the Corefile is empty") }
        return Corefile(servers: servers, files: state.files)
    }

    // MARK: lexing

    struct Token: Equatable {
        var text: String
        var file: String
        var line: Int
        var quoted = false
        var location: CorefileLocation { CorefileLocation(file: file, line: line) }
    }

    func lex(_ text: String, file: String) -> [Token] {
        var tokens: [Token] = []
        var line = 1
        var current = ""
        var startLine = 1
        var inQuote = false
        var inComment = false
        var quoted = false
        var escaped = false
        func flush() {
            if !current.isEmpty || quoted {
                tokens.append(Token(text: substitute(current), file: file, line: startLine, quoted: quoted))
            }
            current = ""
            quoted = false
        }
        for ch in text {
            if inComment {
                if ch == "\n" { inComment = false; line += 1 }
                continue
            }
            if inQuote {
                if escaped {
                    if ch != "\"" && ch != "\\" { current.append("\\") }
                    current.append(ch)
                    escaped = false
                } else if ch == "\\" {
                    escaped = true
                } else if ch == "\"" {
                    inQuote = false
                } else {
                    if ch == "\n" { line += 1 }
                    current.append(ch)
                }
                continue
            }
            switch ch {
            case " ", "\t", "\r", "\n", "\r\n":
                flush()
                if ch == "\n" || ch == "\r\n" { line += 1 }
            case "\"" where current.isEmpty:
                inQuote = true
                quoted = true
                startLine = line
            case "#" where current.isEmpty:
                inComment = true
            default:
                if current.isEmpty { startLine = line }
                current.append(ch)
            }
        }
        flush()
        return tokens
    }

    /// `{$NAME}` and `{%NAME%}` replaced by the environment's value (empty when unset).
    func substitute(_ token: String) -> String {
        guard token.contains("{$") || token.contains("{%") else { return token }
        var out = ""
        var rest = Substring(token)
        while let open = rest.range(of: "{$") ?? rest.range(of: "{%") {
            let closing = rest[open.lowerBound...].dropFirst().first == "$" ? "}" : "%}"
            guard let close = rest[open.upperBound...].range(of: closing) else { break }
            out += rest[..<open.lowerBound]
            out += environment[String(rest[open.upperBound..<close.lowerBound])] ?? ""
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    // MARK: imports and snippets

    struct State {
        var snippets: [String: [Token]] = [:]
        var files: [String] = []
    }

    /// Replaces every `import` line by what it names, and takes `(snippet) { … }` definitions
    /// out of the top level.
    func expand(_ tokens: [Token], depth: Int, state: inout State, topLevel: Bool, directory: String) throws -> [Token] {
        guard depth < maxDepth else {
            throw CorefileError(tokens.first?.location, "imports nested more than \(maxDepth) deep (an import loop?)")
        }
        var out: [Token] = []
        var i = 0
        var nesting = 0
        while i < tokens.count {
            let t = tokens[i]
            let startsLine = i == 0 || tokens[i - 1].line != t.line || tokens[i - 1].file != t.file
            // A snippet definition: `(name) {` at the top level.
            if topLevel, nesting == 0, startsLine, !t.quoted, t.text.hasPrefix("("), t.text.hasSuffix(")"), t.text.count > 2,
               i + 1 < tokens.count, tokens[i + 1].text == "{" {
                let name = String(t.text.dropFirst().dropLast())
                var j = i + 2, depthInside = 1
                var body: [Token] = []
                while j < tokens.count {
                    if tokens[j].text == "{" && !tokens[j].quoted { depthInside += 1 }
                    if tokens[j].text == "}" && !tokens[j].quoted {
                        depthInside -= 1
                        if depthInside == 0 { break }
                    }
                    body.append(tokens[j])
                    j += 1
                }
                guard j < tokens.count else { throw CorefileError(t.location, "snippet \(t.text): no closing }") }
                guard state.snippets[name] == nil else { throw CorefileError(t.location, "snippet \(t.text) is defined twice") }
                state.snippets[name] = body
                i = j + 1
                continue
            }
            if startsLine, !t.quoted, t.text == "import" {
                var args: [Token] = []
                var j = i + 1
                while j < tokens.count, tokens[j].line == t.line, tokens[j].file == t.file {
                    args.append(tokens[j])
                    j += 1
                }
                guard args.count == 1 else { throw CorefileError(t.location, "import takes one argument: a snippet name or a file glob") }
                let pattern = args[0].text
                if let snippet = state.snippets[pattern] {
                    out += try expand(snippet, depth: depth + 1, state: &state, topLevel: false, directory: directory)
                } else {
                    let absolute = pattern.hasPrefix("/") ? pattern : directory + "/" + pattern
                    let matches = try Self.glob(absolute)
                    if matches.isEmpty && !pattern.contains(where: { "*?[".contains($0) }) {
                        throw CorefileError(t.location, "import \(pattern): no such file or snippet")
                    }
                    for path in matches {
                        guard let text = FileContents.text(path) else {
                            throw CorefileError(t.location, "import \(pattern): cannot read \(path)")
                        }
                        if !state.files.contains(path) { state.files.append(path) }
                        out += try expand(lex(text, file: path), depth: depth + 1, state: &state, topLevel: topLevel && nesting == 0,
                                          directory: Self.directory(of: path))
                    }
                }
                i = j
                continue
            }
            if !t.quoted && t.text == "{" { nesting += 1 }
            if !t.quoted && t.text == "}" { nesting -= 1 }
            out.append(t)
            i += 1
        }
        return out
    }

    public static func directory(of path: String) -> String {
        let d = (path as NSString).deletingLastPathComponent
        return d.isEmpty ? "." : d
    }

    /// Sorted paths matching a shell glob (glob(3)); none is an empty list.
    static func glob(_ pattern: String) throws -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        let rc = Glibc.glob(pattern, 0, nil, &g)
        guard rc == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    // MARK: server blocks and directives

    struct TokenReader {
        var tokens: [Token]
        var i = 0
        var atEnd: Bool { i >= tokens.count }
        var peek: Token? { atEnd ? nil : tokens[i] }
        mutating func next() -> Token? {
            defer { i += 1 }
            return atEnd ? nil : tokens[i]
        }
        func isOpen(_ t: Token) -> Bool { !t.quoted && t.text == "{" }
        func isClose(_ t: Token) -> Bool { !t.quoted && t.text == "}" }
    }

    func serverBlock(_ r: inout TokenReader) throws -> ServerBlock {
        guard let first = r.peek else { throw CorefileError(nil, "unexpected end of the Corefile") }
        var keys: [ServerKey] = []
        var lastLine = first.line, lastFile = first.file, continued = true
        while let t = r.peek, !r.isOpen(t) {
            if r.isClose(t) { throw CorefileError(t.location, "unexpected }") }
            // Keys continue on the next line only after a trailing comma.
            if (t.line != lastLine || t.file != lastFile) && !continued {
                throw CorefileError(t.location, "expected { after the server keys \(keys.map(\.description).joined(separator: " "))")
            }
            _ = r.next()
            continued = t.text.hasSuffix(",")
            for part in t.text.split(separator: ",") where !part.isEmpty {
                keys.append(try Self.key(String(part), at: t.location))
            }
            lastLine = t.line
            lastFile = t.file
        }
        guard let open = r.next() else {
            throw CorefileError(first.location, "server block \(first.text) has no { … } body")
        }
        guard !keys.isEmpty else { throw CorefileError(open.location, "a { with no server key before it") }
        let body = try lines(&r, closing: open)
        return ServerBlock(keys: keys, directives: body, location: first.location)
    }

    /// Directive lines until the `}` that matches `open`.
    func lines(_ r: inout TokenReader, closing open: Token) throws -> [Directive] {
        var out: [Directive] = []
        while true {
            guard let t = r.next() else { throw CorefileError(open.location, "this { is never closed") }
            if r.isClose(t) { return out }
            if r.isOpen(t) { throw CorefileError(t.location, "a { must end a directive's line") }
            var args: [String] = []
            var block: [Directive]? = nil
            while let a = r.peek, a.line == t.line, a.file == t.file {
                _ = r.next()
                if r.isClose(a) {
                    // `directive }` on one line: the } closes the enclosing block.
                    out.append(Directive(name: t.text, arguments: args, location: t.location))
                    return out
                }
                if r.isOpen(a) {
                    block = try lines(&r, closing: a)
                    break
                }
                args.append(a.text)
            }
            out.append(Directive(name: t.text, arguments: args, block: block, location: t.location))
        }
    }

    /// `[SCHEME://]ZONE[:PORT]`, as CoreDNS normalises it: `.:53`, `:53` (the root),
    /// `cluster.local`, `dns://.:53`, `[::1]`-free (keys are zones, not addresses).
    static func key(_ text: String, at location: CorefileLocation) throws -> ServerKey {
        var rest = Substring(text)
        var scheme = "dns"
        if let r = rest.range(of: "://") {
            scheme = rest[..<r.lowerBound].lowercased()
            rest = rest[r.upperBound...]
        }
        var port: Int? = nil
        if let colon = rest.lastIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw CorefileError(location, "server key \(text): the port must be a number from 1 to 65535")
            }
            port = p
            rest = rest[..<colon]
        }
        var zone = rest.lowercased()
        if zone.isEmpty { zone = "." }
        if !zone.hasSuffix(".") { zone += "." }
        guard zone == "." || !zone.hasPrefix("."), !zone.contains(".."), !zone.contains("/") else {
            throw CorefileError(location, "server key \(text): \(zone) is not a zone name (CIDR keys are not supported; write the in-addr.arpa zone)")
        }
        return ServerKey(scheme: scheme, zone: zone, port: port)
    }
}
