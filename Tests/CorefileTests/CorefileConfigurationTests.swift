import ClusterDNSApp
import Corefile
import DNSServer
import DNSWire
import Forwarding
import Foundation
import RecordIndex
import Testing

/// Issue 15: a Corefile maps onto the same configuration the flags build, each plugin with
/// CoreDNS's meaning and defaults; what cannot be honoured is refused with `file:line`.
@Suite struct CorefileConfigurationTests {
    static let corefiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corefiles").path

    func load(_ text: String, overrides: CorefileOverrides = CorefileOverrides()) throws -> CorefileLoad {
        let corefile = try CorefileParser(environment: [:]).parse(text: text, file: "/test/Corefile")
        return try CorefileConfiguration.map(corefile, path: "/test/Corefile", overrides: overrides)
    }

    func refusal(_ text: String) -> String {
        do {
            _ = try load(text)
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    /// The result for every file of the corpus (../shared/corefiles): it loads, or it is refused
    /// with this message (file:line first). Templates with unrendered placeholders and fragments
    /// are expected refusals; the issue's list of distributions must load.
    static let expected: [String: String?] = [
        "aks-custom-forward.Corefile": nil,
        "aks-custom-forward.rendered.Corefile": nil,
        "aks-custom-internal-cloudapp.Corefile": nil,
        "aks-custom-puglife.Corefile": nil,
        "aks-custom-rewrite.Corefile": "aks-custom-rewrite.Corefile:4: plugin \"rewrite\": unexpected \"be\" after the name rule",
        "aks-custom-rewrite.rendered.Corefile": nil,
        "aks-custom-stubdomains.Corefile": nil,
        "aks-with-custom.rendered.Corefile": nil,
        "aks.Corefile": nil,
        "coredns-deployment-stubdomain.rendered.Corefile": nil,
        "coredns-deployment.Corefile": "coredns-deployment.Corefile:1: this { is never closed",
        "coredns-deployment.rendered.Corefile": nil,
        "coredns-helm.Corefile": nil,
        "eks.Corefile": nil,
        "k0s.Corefile": "k0s.Corefile:5: plugin \"kubernetes\": .ClusterDomain is not a domain name",
        "k0s.rendered.Corefile": nil,
        "k3s.Corefile": nil,
        "k3s.rendered.Corefile": nil,
        "kind.Corefile": nil,
        "kops-nodelocaldns.Corefile": "kops-nodelocaldns.Corefile:2: expected { after the server keys",
        "kops-nodelocaldns.rendered.Corefile": nil,
        "kops.Corefile": "kops.Corefile:2: expected { after the server keys",
        "kops.rendered.Corefile": nil,
        "kubeadm.Corefile": "kubeadm.Corefile:7: plugin \"kubernetes\": .DNSDomain is not a domain name",
        "kubeadm.rendered.Corefile": nil,
        "kubernetes-addon.Corefile": nil,
        "kubernetes-addon.rendered.Corefile": nil,
        "kubespray-nodelocaldns.Corefile": "kubespray-nodelocaldns.Corefile:2: expected { after the server keys",
        "kubespray-nodelocaldns.rendered.Corefile": nil,
        "kubespray.Corefile": "kubespray.Corefile:2: expected { after the server keys",
        "kubespray.rendered.Corefile": nil,
        "microk8s.Corefile": "microk8s.Corefile:15: plugin \"forward\": upstream $NAMESERVERS is not an IP address",
        "microk8s.rendered.Corefile": nil,
        "minikube.Corefile": nil,
        "nodelocaldns.Corefile": "nodelocaldns.Corefile:9: plugin \"bind\": __PILLAR__LOCAL__DNS__ is not an IP address",
        "nodelocaldns.rendered.Corefile": nil,
        "openshift-dot.rendered.Corefile": "openshift-dot.rendered.Corefile:5: plugin \"forward\": option \"tls_servername\" is not supported",
        "openshift-stubservers.rendered.Corefile": nil,
        "openshift-tcp.rendered.Corefile": nil,
        "openshift.Corefile": "openshift.Corefile:1: server key .Servers",
        "openshift.rendered.Corefile": nil,
        "rke2-nodelocal.Corefile": "rke2-nodelocal.Corefile:1: server key .Values.global.clusterDomain",
        "rke2-nodelocal.rendered.Corefile": nil,
        "rke2.Corefile": nil,
        "talos-no-cluster-domain.rendered.Corefile": "talos-no-cluster-domain.rendered.Corefile:12: plugin \"kubernetes\": no cluster domain among in-addr.arpa. ip6.arpa.",
        "talos.Corefile": nil,
        "talos.rendered.Corefile": nil,
        "user-coredns6111-minikube-prefetch.Corefile": nil,
        "user-coredns6936-k3s-metadata-rewrite.Corefile": "user-coredns6936-k3s-metadata-rewrite.Corefile:5: plugin \"metadata\" is not supported (supported: ",
        "user-home-ops-talos.Corefile": nil,
        "user-k8sdns525-nodelocal-rewrite.Corefile": nil,
        "user-k8sdocs-stubdomain.Corefile": nil,
        "user-killsh-stub-healthcheck.Corefile": nil,
        "user-macropower-k3s-multiforward.Corefile": nil,
        "user-salt-labs-snippets.Corefile": nil,
        "aks-custom-hosts.override": "aks-custom-hosts.override:2: plugin \"10.0.0.1\" is not supported",
        "aks-custom-log.override": "aks-custom-log.override:1: server block log has no { … } body",
    ]

    /// Issue 15, "Done when": every file either loads or is refused naming file and line; the
    /// distributions' files load.
    @Test func everyCorefileOfTheCorpus() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corefiles)
            .filter { $0.hasSuffix(".Corefile") || $0.hasSuffix(".override") }.sorted()
        #expect(files.count == 57)
        #expect(Set(files) == Set(Self.expected.keys), "the table names every file")
        var table = ["| file | result |", "| --- | --- |"]
        for file in files {
            var result: String
            do {
                // Relative to the corpus, as `clusterdns check --corefile FILE` run there.
                let previous = FileManager.default.currentDirectoryPath
                FileManager.default.changeCurrentDirectoryPath(Self.corefiles)
                defer { FileManager.default.changeCurrentDirectoryPath(previous) }
                let load = try CorefileConfiguration.load(path: file, environment: [:])
                result = "loads" + (load.warnings.isEmpty ? "" : " (\(load.warnings.count) warning\(load.warnings.count == 1 ? "" : "s"))")
                #expect(Self.expected[file] == .some(nil), "\(file) loads, expected: \(String(describing: Self.expected[file]))")
            } catch {
                result = "refused: `\(error)`"
                let want = Self.expected[file] ?? nil
                #expect(want != nil && "\(error)".hasPrefix(want!), "\(file): \(error)")
                #expect("\(error)".hasPrefix("\(file):"), "names the file and line: \(error)")
            }
            table.append("| `\(file)` | \(result.replacingOccurrences(of: "|", with: "\\|")) |")
        }
        if let out = ProcessInfo.processInfo.environment["COREFILE_TABLE"] {
            try table.joined(separator: "\n").write(toFile: out, atomically: true, encoding: .utf8)
        }
    }

    /// AKS's default Corefile imports `custom/*.override` into its `.` block and `custom/*.server`
    /// after it; with the coredns-custom ConfigMap's keys mounted there, it loads with them.
    @Test func aksWithItsImports() throws {
        let dir = NSTemporaryDirectory() + "aks-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/custom", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func copy(_ from: String, _ to: String) throws {
            try FileManager.default.copyItem(atPath: Self.corefiles + "/" + from, toPath: dir + "/" + to)
        }
        try copy("aks.Corefile", "Corefile")
        try copy("aks-custom-hosts.override", "custom/test.override")
        try copy("aks-custom-log.override", "custom/log.override")
        try copy("aks-custom-internal-cloudapp.Corefile", "custom/override-block.server")
        try copy("aks-custom-puglife.Corefile", "custom/puglife.server")
        try copy("aks-custom-stubdomains.Corefile", "custom/test.server")
        let load = try CorefileConfiguration.load(path: dir + "/Corefile", environment: [:])
        #expect(load.files.count == 6)
        let c = load.configuration
        #expect(c.server.logQueries, "log.override's `log`")
        #expect(c.index.clusterDomains == [DNSName("cluster.local")!])
        #expect(c.index.ttl == 30 && c.index.pods == .insecure)
        let stubs = Dictionary(uniqueKeysWithValues: (c.forwarding?.stubs ?? []).map { ($0.domain.description, $0.upstreams.map(\.description)) })
        #expect(stubs["puglife.local."] == ["192.11.0.1:53"])
        #expect(stubs["abc.com."] == ["1.2.3.4:53"])
        #expect(stubs["my.cluster.local."] == ["2.3.4.5:53"], "a block for a zone inside the cluster domain takes its names, as in CoreDNS")
    }

    /// kubeadm's Corefile, option by option.
    @Test func kubeadm() throws {
        let load = try CorefileConfiguration.load(path: Self.corefiles + "/kubeadm.rendered.Corefile", environment: [:])
        let c = load.configuration
        #expect(c.server.listen == [ServerConfiguration.Endpoint(host: "0.0.0.0", port: 53), ServerConfiguration.Endpoint(host: "::", port: 53)],
                "every address of both families, as CoreDNS's `:53`")
        #expect(c.index.clusterDomains == [DNSName("cluster.local")!])
        #expect(c.index.reverseZones == [DNSName("in-addr.arpa")!, DNSName("ip6.arpa")!])
        #expect(c.index.ttl == 30)
        #expect(c.index.pods == .insecure)
        #expect(c.server.reverseFallthrough)
        #expect(c.kubernetes.map { if case .inCluster = $0 { true } else { false } } == true)
        #expect(c.forwarding?.upstreams.isEmpty == true && c.readResolvConf && c.resolvConf == "/etc/resolv.conf")
        #expect(c.forwarding?.maxConcurrent == 1000)
        #expect(c.forwarding?.cache.maxTTL == 30)
        #expect(c.operations.health == ServerConfiguration.Endpoint(host: "0.0.0.0", port: 8080))
        #expect(c.operations.lameDuck == .seconds(5))
        #expect(c.operations.ready == ServerConfiguration.Endpoint(host: "0.0.0.0", port: 8181))
        #expect(c.operations.metrics == ServerConfiguration.Endpoint(host: "0.0.0.0", port: 9153))
        #expect(c.server.loadBalance)
        #expect(load.reload == CorefileLoad.Reload(interval: .seconds(30), jitter: .seconds(15)))
    }

    /// CoreDNS: several server blocks on one port route by zone, so a block's `forward` is a
    /// stub domain; a node-local cache (no kubernetes plugin) forwards everything.
    @Test func nodeLocalCache() throws {
        let c = try CorefileConfiguration.load(path: Self.corefiles + "/nodelocaldns.rendered.Corefile", environment: [:]).configuration
        #expect(c.index.clusterDomains.isEmpty && c.index.reverseZones.isEmpty)
        #expect(c.kubernetes == nil)
        #expect(c.server.listen.map(\.description) == ["169.254.20.10:53", "10.96.0.10:53"])
        let stubs = c.forwarding?.stubs ?? []
        #expect(stubs.map(\.domain.description) == ["cluster.local.", "in-addr.arpa.", "ip6.arpa."])
        #expect(stubs.allSatisfy { $0.forceTCP && $0.upstreams.map(\.description) == ["10.96.0.20:53"] })
        #expect(c.forwarding?.forceTCP == false, "force_tcp is the stubs' only")
        #expect(c.operations.metrics?.description == "0.0.0.0:9253")
        #expect(c.operations.ready == nil, "no ready plugin: no /ready")
        #expect(!c.server.loadBalance)
    }

    /// The flags that say where things are replace what the Corefile says.
    @Test func overrides() throws {
        var o = CorefileOverrides()
        o.zonesDirectory = "zones"
        o.listen = [ServerConfiguration.Endpoint(host: "127.0.0.1", port: 5353)]
        o.upstreams = [ForwardConfiguration.Upstream(host: "127.0.0.1", port: 5300)]
        o.metrics = .some(nil)
        let c = try load("""
        .:53 {
            kubernetes cluster.local in-addr.arpa ip6.arpa
            forward . /etc/resolv.conf
            prometheus :9153
        }
        """, overrides: o).configuration
        #expect(c.zonesDirectory == "zones" && c.kubernetes == nil)
        #expect(c.server.listen.map(\.description) == ["127.0.0.1:5353"])
        #expect(c.forwarding?.upstreams.map(\.description) == ["127.0.0.1:5300"])
        #expect(c.operations.metrics == nil)
        #expect(c.forwarding?.cache.size == 0, "no cache plugin: nothing cached")
    }

    /// Plugin options CoreDNS has and clusterdns cannot honour are refused, never dropped.
    @Test func refusals() {
        #expect(refusal(".:53 {\n  dns64\n}\n").hasPrefix("/test/Corefile:2: plugin \"dns64\" is not supported (supported: autopath, bind,"))
        #expect(refusal(".:53 {\n  forward . tls://1.1.1.1\n}\n") == "/test/Corefile:2: plugin \"forward\": upstream tls://1.1.1.1 is not supported (plain DNS only: no tls:// or https://)")
        #expect(refusal(".:53 {\n  kubernetes cluster.local {\n    labels app=x\n  }\n}\n").hasPrefix("/test/Corefile:3: plugin \"kubernetes\": option \"labels\" is not supported"))
        #expect(refusal(".:53 {\n}\nexample.org:5353 {\n}\n").hasPrefix("/test/Corefile:3: server key example.org.:5353: every server block must use one port"))
        #expect(refusal(".:53 {\n  cache 30 {\n    keepttl\n  }\n}\n").hasPrefix("/test/Corefile:3: plugin \"cache\": keepttl is not supported"))
        #expect(refusal(".:53 {\n  loadbalance weighted /f\n}\n").hasPrefix("/test/Corefile:2: plugin \"loadbalance\": only round_robin"))
        #expect(refusal(".:53 {\n  kubernetes cluster.local\n  kubernetes other.local\n}\n").hasPrefix("/test/Corefile:3: plugin \"kubernetes\" appears twice"))
        #expect(refusal(".:53 {\n  bind eth0\n}\n").contains("interface names are not supported"))
        #expect(refusal(".:53 {\n  autopath /etc/resolv.conf\n}\n").contains("only `autopath @kubernetes`"))
        #expect(refusal("grpc://.:53 {\n}\n").contains("only dns:// servers"))
    }

    /// CoreDNS defaults where the plugin line is bare.
    @Test func defaults() throws {
        let c = try load(".:53 {\n  kubernetes cluster.local\n  forward . 10.0.0.1 10.0.0.2:5353\n  cache\n  health\n  ready\n  prometheus\n}\n").configuration
        #expect(c.forwarding?.cache.maxTTL == 3600 && c.forwarding?.cache.maxDenialTTL == 1800)
        #expect(c.forwarding?.upstreams.map(\.description) == ["10.0.0.1:53", "10.0.0.2:5353"])
        #expect(c.operations.metrics?.description == "127.0.0.1:9153", "prometheus: localhost:9153")
        #expect(c.operations.health?.description == "0.0.0.0:8080" && c.operations.lameDuck == .zero)
        #expect(c.index.ttl == 5 && c.index.pods == .disabled)
        #expect(!c.server.reverseFallthrough, "no fallthrough: a reverse miss is NXDOMAIN")
        #expect(c.index.reverseZones.isEmpty, "no reverse zone named: no PTRs")
        #expect(!c.server.loadBalance && !c.server.logQueries)
    }

    @Test func durations() {
        #expect(Mapper.duration("5s") == .seconds(5))
        #expect(Mapper.duration("1m30s") == .seconds(90))
        #expect(Mapper.duration("500ms") == .milliseconds(500))
        #expect(Mapper.duration("10") == .seconds(10))
        #expect(Mapper.duration("5x") == nil)
        #expect(Mapper.duration("") == nil)
    }
}
