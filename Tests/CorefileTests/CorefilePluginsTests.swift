import ClusterDNSApp
import Corefile
import DNSResponder
import DNSWire
import Foundation
import Testing

/// `CorefilePlugins.block`: the hosts, template, rewrite and chaos directives of a server block,
/// with CoreDNS's defaults, and a file:line error for every option it does not understand.
@Suite struct CorefilePluginsTests {
    func blocks(_ text: String, file: String = "/etc/coredns/Corefile") throws -> [PluginBlock] {
        let corefile = try CorefileParser(environment: [:]).parse(text: text, file: file)
        return try corefile.servers.map { block in
            try CorefilePlugins.block(block, zones: block.keys.map { DNSName($0.zone)! }, directory: "/etc/coredns")
        }
    }

    /// The error for `text`, which must be refused at `line`.
    func refused(_ text: String, line: Int, containing fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try blocks(text)
            Issue.record("accepted: \(text)", sourceLocation: sourceLocation)
        } catch let e as CorefileError {
            #expect(e.description.hasPrefix("/etc/coredns/Corefile:\(line): plugin \""), "\(e)", sourceLocation: sourceLocation)
            #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func names() {
        #expect(CorefilePlugins.names == ["hosts", "template", "rewrite", "chaos", "whoami"])
    }

    // hosts: "FILE ... Defaults to /etc/hosts if omitted", "ZONES ... If empty, the zones from the
    // configuration block are used", "ttl ... The default is 3600 seconds", "reload ... 5s".
    @Test func hostsDefaults() throws {
        let b = try blocks(".:53 {\n hosts\n}\nexample.org:53 {\n hosts NodeHosts lan. corp {\n ttl 60\n reload 15s\n no_reverse\n fallthrough in-addr.arpa\n }\n}\n")
        let root = try #require(b[0].hosts)
        #expect(root.source.path == "/etc/hosts")
        #expect(root.zones == [.root])
        #expect(root.ttl == 3600)
        #expect(root.reload == .seconds(5))
        #expect(root.fall == nil)
        let other = try #require(b[1].hosts)
        #expect(other.source.path == "/etc/coredns/NodeHosts")
        #expect(other.zones == [DNSName("lan.")!, DNSName("corp.")!])
        #expect(other.ttl == 60)
        #expect(other.reload == .seconds(15))
        #expect(other.source.reverse == false)
        #expect(other.fall == Fallthrough(zones: [DNSName("in-addr.arpa.")!]))
        #expect(b[1].zones == [DNSName("example.org.")!])
    }

    @Test func hostsRefusals() {
        refused(".:53 {\n hosts {\n ttl 0\n }\n}\n", line: 3, containing: "ttl provided is invalid")
        refused(".:53 {\n hosts {\n ttl soon\n }\n}\n", line: 3, containing: "ttl needs a number")
        refused(".:53 {\n hosts {\n reload -5s\n }\n}\n", line: 3, containing: "invalid duration for reload")
        refused(".:53 {\n hosts {\n reload 5 days\n }\n}\n", line: 3, containing: "reload needs a duration")
        refused(".:53 {\n hosts {\n ttL 30\n }\n}\n", line: 3, containing: "unknown property 'ttL'")
        refused(".:53 {\n hosts {\n fallthrough\n 10.0.0.1 late.example\n }\n}\n", line: 4, containing: "unknown property")
        refused(".:53 {\n hosts\n hosts /etc/other\n}\n", line: 3, containing: "once per server block")
        refused(".:53 {\n hosts /etc/hosts 10.0.0.0/8\n}\n", line: 2, containing: "CIDR")
    }

    // template: "CLASS the query class (usually IN or ANY). TYPE the query type (A, PTR, ... can be
    // ANY to match all types). ZONE the zone scope(s) for this template. Defaults to the server zones."
    @Test func templateMapping() throws {
        let b = try blocks("""
            .:53 {
                template IN A example.org {
                    match ^a\\. ^b\\.
                    answer "{{ .Name }} 60 IN A 10.0.0.1" "{{ .Name }} 60 IN A 10.0.0.2"
                    rcode NOERROR
                    fallthrough
                    upstream
                }
                template ANY ANY {
                    rcode NXDOMAIN
                }
            }
            """)
        let t = b[0].templates
        #expect(t.count == 2)
        #expect(t[0].recordClass == .in && t[0].type == .a && t[0].zones == [DNSName("example.org.")!])
        #expect(t[0].regexes.map(\.pattern) == [#"^a\."#, #"^b\."#])
        #expect(t[0].answer.count == 2 && t[0].upstream && t[0].fall != nil)
        #expect(t[1].recordClass == nil && t[1].type == nil && t[1].zones == [.root])
        #expect(t[1].regexes.map(\.pattern) == [".*"])
        #expect(t[1].rcode == .nxDomain)
    }

    @Test func summaryForCheck() throws {
        let b = try blocks(".:53 {\n chaos\n rewrite name a.example b.example\n template IN A example.org {\n rcode NXDOMAIN\n }\n hosts /nonexistent {\n 10.0.0.1 a.\n ttl 60\n fallthrough\n }\n}\n")
        #expect(b[0].summary == [
            "chaos version \"\(CorefilePlugins.defaultVersion)\"",
            "rewrite stop name exact a.example. b.example., answer name exact b.example. a.example.",
            "template IN A example.org., match .*, rcode NXDOMAIN",
            "hosts /nonexistent ., 1 names, ttl 60, reload 5.0 seconds, fallthrough .",
        ])
    }

    @Test func templateRefusals() {
        refused(".:53 {\n template IN\n}\n", line: 2, containing: "needs CLASS and TYPE")
        refused(".:53 {\n template XX A\n}\n", line: 2, containing: "invalid query class")
        refused(".:53 {\n template IN BOGUS\n}\n", line: 2, containing: "invalid RR type")
        refused(".:53 {\n template IN A {\n match (\n answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n }\n}\n", line: 3, containing: "invalid regex")
        refused(".:53 {\n template IN A {\n answer \"{{ .Name | upper }} 60 IN A 10.0.0.1\"\n }\n}\n", line: 3, containing: "not supported")
        refused(".:53 {\n template IN A {\n answer \"{{ .Remote }} 60 IN A 10.0.0.1\"\n }\n}\n", line: 3, containing: "not supported")
        refused(".:53 {\n template IN HINFO {\n answer \"{{ .Name }} 60 IN HINFO a b\"\n }\n}\n", line: 2, containing: "not supported")
        refused(".:53 {\n template IN A {\n answer \"{{ .Name }} 60 IN A\"\n }\n}\n", line: 2, containing: "needs 1 fields")
        refused(".:53 {\n template IN A {\n rcode MAYBE\n }\n}\n", line: 3, containing: "rcode needs")
        refused(".:53 {\n template IN A {\n ednsopt 1\n }\n}\n", line: 3, containing: "unknown property")
        refused(".:53 {\n template IN A\n}\n", line: 2, containing: "no answer section")
    }

    // rewrite: "rewrite [continue|stop] name [exact|prefix|suffix|substring|regex] STRING STRING";
    // "If the match type is omitted, the exact match type is assumed"; "The default behaviour is stop".
    @Test func rewriteMapping() throws {
        let b = try blocks(#"""
            .:53 {
                rewrite name Harbor.cluster.local harbor-core.harbor.svc.cluster.local
                rewrite continue name suffix cluster.old cluster.local answer auto
                rewrite stop {
                    name regex (.*)\.example\.com {1}.default.svc.cluster.local
                    answer name (.*)\.default\.svc\.cluster\.local {1}.example.com
                }
            }
            """#)
        let r = b[0].rewrite
        #expect(r.count == 3)
        #expect(r[0].match == .exact("harbor.cluster.local.") && r[0].replacement == "harbor-core.harbor.svc.cluster.local." && r[0].stop)
        // exact writes the owner names back by itself.
        #expect(r[0].answers == [AnswerRewrite(field: .name, match: .exact("harbor-core.harbor.svc.cluster.local."), replacement: "harbor.cluster.local.")])
        #expect(r[1].match == .suffix("cluster.old.") && !r[1].stop)
        #expect(r[1].answers.map(\.field) == [.name, .value])
        #expect(r[2].stop && r[2].answers.count == 1 && r[2].replacement == "{1}.default.svc.cluster.local.")
    }

    @Test func rewriteRefusals() {
        refused(".:53 {\n rewrite ttl example.com 15\n}\n", line: 2, containing: "\"ttl\" is not supported")
        refused(".:53 {\n rewrite edns0 local set 0xffee 0x61626364\n}\n", line: 2, containing: "\"edns0\" is not supported")
        refused(".:53 {\n rewrite type ANY HINFO\n}\n", line: 2, containing: "\"type\" is not supported")
        refused(".:53 {\n rewrite class CH IN\n}\n", line: 2, containing: "\"class\" is not supported")
        refused(".:53 {\n rewrite stop cname exact a. b.\n}\n", line: 2, containing: "\"cname\" is not supported")
        refused(".:53 {\n rewrite rcode exact a. SERVFAIL NXDOMAIN\n}\n", line: 2, containing: "\"rcode\" is not supported")
        refused(".:53 {\n rewrite answer name a b\n}\n", line: 2, containing: "must begin with a name rule")
        refused(".:53 {\n rewrite name regex (.+)\\.test1\\.com {1}.{kubernetes/client-namespace}.svc.cluster.local\n}\n", line: 2, containing: "metadata")
        refused(".:53 {\n rewrite name regex (.+)\\.a\\.com {2}.b.com\n}\n", line: 2, containing: "more subexpressions")
        refused(".:53 {\n rewrite name regex (.+)\\.a\\.com {1}.b.com answer auto\n}\n", line: 2, containing: "answer auto is not possible")
        refused(".:53 {\n rewrite name exact a.com b.com answer\n}\n", line: 2, containing: "unexpected")
        refused(".:53 {\n rewrite name exact a.com b.com answer bogus x y\n}\n", line: 2, containing: "invalid answer rule")
        refused(".:53 {\n rewrite name a.com\n}\n", line: 2, containing: "too few arguments")
        refused(".:53 {\n rewrite name regex ( b\n}\n", line: 2, containing: "invalid regex")
    }

    // chaos: "VERSION is the version to return. Defaults to CoreDNS-<version>, if not set. AUTHORS
    // is what authors to return." (OpenShift writes a bare `chaos`.)
    @Test func chaosMapping() throws {
        let b = try blocks(".:53 {\n chaos\n}\nexample.org:53 {\n chaos v1 alice bob\n}\n")
        #expect(b[0].chaos?.version == CorefilePlugins.defaultVersion)
        #expect(b[0].chaos?.authors == [])
        #expect(b[1].chaos?.version == "v1" && b[1].chaos?.authors == ["alice", "bob"])
        refused(".:53 {\n chaos\n chaos\n}\n", line: 3, containing: "once per server block")
    }

    @Test func blocksWithoutPluginsStillRoute() throws {
        let chain = PluginChain(blocks: try blocks(".:53 {\n hosts {\n 10.0.0.1 a.consul.local\n }\n}\nconsul.local:53 {\n forward . 10.0.0.1\n}\n"))
        #expect(!chain.isEmpty)
        #expect(chain.pluginBlock(for: DNSName("a.consul.local.")!) == nil)
        #expect(chain.pluginBlock(for: DNSName("a.example.")!) != nil)
        #expect(PluginChain(blocks: try blocks(".:53 {\n forward . 10.0.0.1\n}\n")).isEmpty)
    }

    /// Every real Corefile's plugins map, except what is refused on purpose: CoreDNS metadata in a
    /// rewrite, and files whose placeholders were never rendered.
    @Test func realCorefiles() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corefiles").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix("Corefile") }.sorted()
        var loaded: [String] = []
        for f in files {
            guard let corefile = try? CorefileParser(environment: [:]).parse(file: dir + "/" + f) else { continue }
            do {
                for block in corefile.servers {
                    _ = try CorefilePlugins.block(block, zones: block.keys.map { DNSName($0.zone)! }, directory: dir)
                }
                loaded.append(f)
            } catch let e as CorefileError {
                #expect(e.location != nil, "\(f): \(e)")
                let text = try String(contentsOfFile: dir + "/" + f, encoding: .utf8)
                let placeholders = text.contains("{{") || text.contains("<domain")
                let expected = f == "user-coredns6936-k3s-metadata-rewrite.Corefile" || placeholders
                #expect(expected, "\(f): \(e)")
            }
        }
        for must in ["aks.Corefile", "user-home-ops-talos.Corefile", "aks-custom-rewrite.rendered.Corefile", "k3s.rendered.Corefile",
                     "openshift.rendered.Corefile", "user-k8sdns525-nodelocal-rewrite.Corefile", "minikube.Corefile"] {
            #expect(loaded.contains(must), "\(must) did not load")
        }
    }
}
