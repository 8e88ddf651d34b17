import Foundation
import Testing
import TestSupport

/// The `clusterdns` command as a user runs it: check, query, serve and a clean SIGTERM.
@Suite struct CommandLineTests {
    let bin = ServerProcess.binary
    let zones = ServerProcess.repositoryRoot + "/zones"

    // `--listen` takes a host name as well as an address (README: "UDP and TCP address"): the
    // name's first address, for UDP and TCP alike.
    @Test func listenOnHostName() throws {
        let second = ServerProcess.freePort()
        let s = try ServerProcess(arguments: ["--zones", zones, "--listen", "localhost:\(second)"])
        defer { _ = s.stop() }
        for transport in ["+notcp", "+tcp"] {
            let r = try run("dig", ["@localhost", "-p", "\(second)", "+short", "+time=2", "+tries=1", transport, "web.shop.svc.cluster.local"])
            #expect(r.out == "10.96.10.20\n", "\(transport): \(r.out)")
        }
    }

    // `clusterdns check DIR` prints the records as zone-file text and exits 0.
    @Test func checkExample() throws {
        let r = try run(bin, ["check", zones])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("web.shop.svc.cluster.local.\t5\tIN\tA\t10.96.10.20"))
        #expect(r.out.contains("payments.example.internal.\t300\tIN\tA\t192.0.2.80"))
        #expect(r.out.contains("30.10.96.10.in-addr.arpa.\t5\tIN\tPTR\tapi.shop.svc.cluster.local."))
    }

    // Each error as file:line: message, and a non-zero exit; the good objects still print.
    @Test func checkReportsErrors() throws {
        let dir = try Fixtures.directory(copyingExample: false, extra: [
            "bad.yaml": """
            apiVersion: v1
            kind: Service
            metadata: {name: good, namespace: default}
            spec: {clusterIP: 10.96.0.50}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: badip, namespace: default}
            spec: {clusterIP: 10.96.0.999}
            ---
            apiVersion: v1
            kind: Service
            metadata: {namespace: default}
            spec: {clusterIP: 10.96.0.51}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: badproto, namespace: default}
            spec:
              clusterIP: 10.96.0.52
              ports: [{port: 80, protocol: QUIC}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: badsel, namespace: default}
            spec: {clusterIP: 10.96.0.53, selector: [a, b]}
            """,
            "broken.yml": "kind: Service\nmetadata: {name: x\n",
            "bad.zone": "$ORIGIN bad.test.\n@ IN SOA ns hm 1 2 3 4 5\nwww IN A 999.1.1.1\n",
            // libldns 1.8.3 reads freed memory on this one (issue 14): the loader stops first.
            "twosoa.zone": "$ORIGIN two.test.\n@ IN SOA ns hm 1 2 3 4 5\n@ IN SOA ns hm 1 2 3 4 5\nns IN A 192.0.2.1\n",
        ])
        let r = try run(bin, ["check", dir])
        #expect(r.status != 0)
        #expect(r.out.contains("good.default.svc.cluster.local."))
        #expect(r.err.contains("\(dir)/bad.yaml:9: Service default/badip: bad IP address 10.96.0.999"))
        #expect(r.err.contains("\(dir)/bad.yaml:13: Service has no metadata.name"))
        #expect(r.err.contains("\(dir)/bad.yaml:21: Service default/badproto: unknown port protocol QUIC"))
        #expect(r.err.contains("\(dir)/bad.yaml:26: Service default/badsel: selector is not a map"))
        #expect(r.err.contains("\(dir)/broken.yml:3:"))
        #expect(r.err.contains("\(dir)/bad.zone:3:"))
        #expect(r.err.contains("\(dir)/twosoa.zone:3: a second SOA record"))
    }

    // `clusterdns query NAME TYPE --zones DIR` answers offline, dig-like.
    @Test func queryOffline() throws {
        let r = try run(bin, ["query", "_grpc._tcp.api.shop.svc.cluster.local", "SRV", "--zones", zones])
        #expect(r.status == 0)
        #expect(r.out.contains("status: NOERROR"))
        #expect(r.out.contains("_grpc._tcp.api.shop.svc.cluster.local.\t5\tIN\tSRV\t0 50 9090 api.shop.svc.cluster.local."))
        #expect(r.out.contains("api.shop.svc.cluster.local.\t5\tIN\tAAAA\tfd00:10:96::30"))
        let nx = try run(bin, ["query", "nope.shop.svc.cluster.local", "--zones", zones, "--ttl", "30"])
        #expect(nx.out.contains("status: NXDOMAIN"))
        #expect(nx.out.contains("hostmaster.cluster.local."))
    }

    // Flags are validated with a clear message.
    @Test func badFlags() throws {
        #expect(try run(bin, ["query", "x.cluster.local", "--zones", zones, "--ttl", "4000"]).err.contains("--ttl must be between 0 and 3600"))
        #expect(try run(bin, ["serve", "--listen", "nonsense"]).err.contains("expected ADDR:PORT"))
        #expect(try run(bin, ["serve", "--help"]).out.contains("--udp-size"))
    }

    // SIGTERM: stop accepting, finish, exit 0.
    @Test func sigtermExitsZero() throws {
        let s = try ServerProcess(arguments: ["--zones", zones])
        #expect(s.stop() == 0)
        #expect(s.log.contains("stopped"))
    }

    // Options reach the answers through the command line.
    @Test func optionsFromTheCommandLine() throws {
        let pods = try run(bin, ["query", "10-244-1-10.shop.pod.cluster.local", "A", "--zones", zones, "--pods", "insecure"]).out
        #expect(pods.contains("10-244-1-10.shop.pod.cluster.local.\t5\tIN\tA\t10.244.1.10"))
        let ns = try run(bin, ["query", "web.shop.svc.cluster.local", "A", "--zones", zones, "--namespace", "data"]).out
        #expect(ns.contains("status: NXDOMAIN"))
        let domain = try run(bin, ["query", "web.shop.svc.k8s.example", "A", "--zones", zones, "--cluster-domain", "k8s.example"]).out
        #expect(domain.contains("10.96.10.20"))
        let podNames = try run(bin, ["query", "web-7d4b9c-abcde.web.shop.svc.cluster.local", "A", "--zones", zones, "--endpoint-pod-names"]).out
        #expect(podNames.contains("10.244.1.10"))
        let noEp = try run(bin, ["query", "db.data.svc.cluster.local", "A", "--zones", zones, "--no-endpoints"]).out
        #expect(noEp.contains("status: NXDOMAIN"))
        let empty = try run(bin, ["query", "kube-dns.kube-system.svc.cluster.local", "A", "--zones", zones, "--ignore-empty-service"]).out
        #expect(empty.contains("status: NXDOMAIN"))
        let ttl = try run(bin, ["query", "web.shop.svc.cluster.local", "A", "--zones", zones, "--ttl", "30"]).out
        #expect(ttl.contains("web.shop.svc.cluster.local.\t30\tIN\tA"))
    }
}
