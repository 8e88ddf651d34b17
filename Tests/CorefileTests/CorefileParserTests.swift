import Corefile
import Foundation
import Testing

/// The Corefile grammar as CoreDNS reads it (Caddy's lexer): issue 15's list — server blocks with
/// one or more zones and ports, nested blocks, quoted arguments, `#` comments, `import` with globs,
/// `(snippets)`, `{$ENV}`, odd whitespace.
@Suite struct CorefileParserTests {
    func parse(_ text: String, env: [String: String] = [:], file: String = "/nonexistent/Corefile") throws -> Corefile {
        try CorefileParser(environment: env).parse(text: text, file: file)
    }

    @Test func kubeadmShape() throws {
        let c = try parse("""
        .:53 {
            errors
            health {
               lameduck 5s
            }
            kubernetes cluster.local in-addr.arpa ip6.arpa {
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl 30
            }
            forward . /etc/resolv.conf {
               max_concurrent 1000
            }
        }
        """)
        #expect(c.servers.count == 1)
        let s = c.servers[0]
        #expect(s.keys == [ServerKey(zone: ".", port: 53)])
        #expect(s.directives.map(\.name) == ["errors", "health", "kubernetes", "forward"])
        let k = s.directives[2]
        #expect(k.arguments == ["cluster.local", "in-addr.arpa", "ip6.arpa"])
        #expect(k.block?.map(\.name) == ["pods", "fallthrough", "ttl"])
        #expect(k.block?[1].arguments == ["in-addr.arpa", "ip6.arpa"])
        #expect(k.location.line == 6)
        #expect(s.directives[1].block?.first?.arguments == ["5s"])
    }

    /// Keys: several zones, commas, `dns://`, no port, `:53` for the root, case folded.
    @Test func serverKeys() throws {
        let c = try parse("""
        dns://Cluster.Local:53 in-addr.arpa, ip6.arpa:5353 {
          whoami
        }
        example.org {
        }
        :53 {
        }
        """)
        #expect(c.servers[0].keys == [ServerKey(zone: "cluster.local.", port: 53), ServerKey(zone: "in-addr.arpa.", port: nil),
                                      ServerKey(zone: "ip6.arpa.", port: 5353)])
        #expect(c.servers[1].keys == [ServerKey(zone: "example.org.", port: nil)])
        #expect(c.servers[1].directives.isEmpty)
        #expect(c.servers[2].keys == [ServerKey(zone: ".", port: 53)])
        #expect(throws: CorefileError.self) { try parse("example.org:99999 {\n}\n") }
        #expect(throws: CorefileError.self) { try parse("10.0.0.0/8 {\n}\n") }
    }

    /// Quotes keep spaces and `#`; a `#` starting a token comments out the rest of the line;
    /// `#` inside a token is part of it.
    @Test func quotesAndComments() throws {
        let c = try parse("""
        # a comment line
        .:53 {   # trailing comment
            template ANY ANY internal.cloudapp.net {
              match "^(?:[^.]+\\.){4,}internal\\.cloudapp\\.net\\.$"
              answer "{{ .Name }} 60 IN A 10.0.0.1"
            }
            forward . 192.11.0.1  # This is my test/dev DNS server
            log a#b
        }
        """)
        let d = c.servers[0].directives
        #expect(d[0].block?[0].arguments == ["^(?:[^.]+\\.){4,}internal\\.cloudapp\\.net\\.$"])
        #expect(d[0].block?[1].arguments == ["{{ .Name }} 60 IN A 10.0.0.1"])
        #expect(d[1].arguments == [".", "192.11.0.1"])
        #expect(d[2].arguments == ["a#b"])
    }

    /// Odd whitespace of the real files: tabs, CRLF, blank lines with spaces, a `}` on the
    /// directive's line, one-space indents, a trailing space after `{`.
    @Test func oddWhitespace() throws {
        let c = try parse(".:53 {\r\n\terrors\r\n   \r\n hosts { \r\n  10.0.0.1 a.example\r\n  fallthrough }\r\n  cache 30\r\n}\r\n")
        let d = c.servers[0].directives
        #expect(d.map(\.name) == ["errors", "hosts", "cache"])
        #expect(d[1].block?.map(\.name) == ["10.0.0.1", "fallthrough"])
        #expect(d[2].location.line == 7)
    }

    @Test func environmentVariables() throws {
        let c = try parse(".:53 {\n  bind {$MY_HOST_IP} {%OTHER%}\n  log {$UNSET}x\n}\n", env: ["MY_HOST_IP": "10.1.2.3", "OTHER": "::1"])
        #expect(c.servers[0].directives[0].arguments == ["10.1.2.3", "::1"])
        #expect(c.servers[0].directives[1].arguments == ["x"])
    }

    /// `(name) { … }` defines a snippet; `import name` pastes its lines (salt-labs' Corefile).
    @Test func snippets() throws {
        let c = try parse("""
        (global) {
          errors
          cache 30
        }
        example.com {
          import global
          forward . 10.0.0.1
        }
        """)
        #expect(c.servers.count == 1)
        #expect(c.servers[0].directives.map(\.name) == ["errors", "cache", "forward"])
        #expect(throws: CorefileError.self) { try parse(".:53 {\n import nothere\n}\n") }
    }

    /// `import GLOB` inside a block and at the top level, relative to the Corefile; an empty
    /// glob is fine (k3s, AKS); the imported lines keep their own file and line.
    @Test func importGlobs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corefile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/custom", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "log\nhosts {\n  10.0.0.1 a.example\n  fallthrough\n}\n".write(toFile: dir + "/custom/b.override", atomically: true, encoding: .utf8)
        try "errors\n".write(toFile: dir + "/custom/a.override", atomically: true, encoding: .utf8)
        try "stub.example:53 {\n  forward . 10.0.0.9\n}\n".write(toFile: dir + "/custom/x.server", atomically: true, encoding: .utf8)
        let text = ".:53 {\n    kubernetes cluster.local\n    import custom/*.override\n}\nimport custom/*.server\nimport custom/*.none\n"
        try text.write(toFile: dir + "/Corefile", atomically: true, encoding: .utf8)
        let c = try CorefileParser(environment: [:]).parse(file: dir + "/Corefile")
        #expect(c.servers.count == 2)
        #expect(c.servers[0].directives.map(\.name) == ["kubernetes", "errors", "log", "hosts"])
        #expect(c.servers[0].directives[3].location == CorefileLocation(file: dir + "/custom/b.override", line: 2))
        #expect(c.servers[1].keys == [ServerKey(zone: "stub.example.", port: 53)])
        #expect(c.files == [dir + "/Corefile", dir + "/custom/a.override", dir + "/custom/b.override", dir + "/custom/x.server"])
        #expect(throws: CorefileError.self) { try CorefileParser(environment: [:]).parse(text: "import missing.conf\n", file: dir + "/Corefile") }
    }

    /// Errors name the file and line.
    @Test func errorsNameFileAndLine() throws {
        for (text, line) in [(".:53 {\n  errors\n", 1), (".:53 {\n}\n}\n", 3), (".:53\nerrors\n", 2), ("", 1)] {
            do {
                _ = try parse(text, file: "/etc/coredns/Corefile")
                Issue.record("\(text) parsed")
            } catch let e as CorefileError {
                #expect(e.location?.line == line, "\(text): \(e)")
                #expect(e.description.hasPrefix("/etc/coredns/Corefile:\(line): "), "\(e)")
            }
        }
    }

    /// Every Corefile in ../shared/corefiles parses (templates with placeholders are data, not
    /// syntax errors, unless Caddy would also refuse them).
    @Test func realCorefilesParse() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corefiles").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".rendered.Corefile") }
        #expect(files.count > 10)
        for f in files.sorted() {
            do {
                let c = try CorefileParser(environment: [:]).parse(file: dir + "/" + f)
                #expect(!c.servers.isEmpty, "\(f)")
            } catch {
                Issue.record("\(f): \(error)")
            }
        }
    }
}
