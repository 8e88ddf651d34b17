import FakeKubeAPI
import Foundation
import Testing
import TestSupport

/// Issue 15, `clusterdns compare ADDR:PORT`: the migration check finds no difference between two
/// servers on the same data, and finds each planted one (a missing record, a changed TTL, a
/// wrong rcode), with the exit status saying which.
@Suite(.serialized) struct CompareTests {
    static let zones = ServerProcess.repositoryRoot + "/zones"

    func compare(_ server: ServerProcess, _ extra: [String] = [], zones: String = CompareTests.zones) throws -> (out: String, err: String, status: Int32) {
        try run(ServerProcess.binary, ["compare", "127.0.0.1:\(server.port)", "--zones", zones, "--qps", "3000"] + extra, timeout: 60)
    }

    @Test func sameDataAgrees() throws {
        let a = try ServerProcess(arguments: ["--zones", Self.zones])
        defer { a.stop() }
        let b = try ServerProcess(arguments: ["--zones", Self.zones])
        defer { b.stop() }
        let own = try compare(a)
        #expect(own.status == 0, "\(own.out)\(own.err)")
        #expect(own.out.contains("differ: 0"), "\(own.out)")
        let pair = try compare(a, ["--reference", "127.0.0.1:\(b.port)"])
        #expect(pair.status == 0, "\(pair.out)\(pair.err)")
        #expect(pair.out.contains("differ: 0, known differences: 0"), "\(pair.out)")
    }

    /// The server under test lacks the `data` namespace's objects (its file is gone).
    @Test func missingRecordsAreFound() throws {
        let dir = try Fixtures.directory()
        try FileManager.default.removeItem(atPath: dir + "/data.yaml")
        let server = try ServerProcess(arguments: ["--zones", dir])
        defer { server.stop() }
        let r = try compare(server)
        #expect(r.status == 1)
        #expect(r.out.contains("\nrcode: "), "\(r.out)")
        #expect(r.out.contains("db.data.svc.cluster.local. A: expected NOERROR; got NXDOMAIN"), "\(r.out)")
    }

    @Test func changedTTLIsFound() throws {
        let server = try ServerProcess(arguments: ["--zones", Self.zones, "--ttl", "30"])
        defer { server.stop() }
        let r = try compare(server, ["--verbose"])
        #expect(r.status == 1)
        #expect(r.out.contains("\nttl: "), "\(r.out)")
        #expect(r.out.contains("web.shop.svc.cluster.local. A: expected web.shop.svc.cluster.local. A 5; got web.shop.svc.cluster.local. A 30"), "\(r.out)")
        #expect(!r.out.contains("\nrcode: "), "only TTLs (and the SOA minimum) differ")
    }

    /// The server under test exposes one namespace only: the others' names are NXDOMAIN there.
    @Test func wrongRcodeIsFound() throws {
        let server = try ServerProcess(arguments: ["--zones", Self.zones, "--namespace", "shop"])
        defer { server.stop() }
        let r = try compare(server, ["--verbose"])
        #expect(r.status == 1)
        #expect(r.out.contains("kubernetes.default.svc.cluster.local. A: expected NOERROR; got NXDOMAIN"), "\(r.out)")
        #expect(!r.out.contains("web.shop.svc.cluster.local. A: expected"), "shop still agrees")
    }

    /// The sources a migration uses: the cluster itself (`--kubeconfig`, here the fake API), and
    /// the cluster's own Corefile on top of it (`--corefile`, EKS's as it ships). A server fed from
    /// the same API agrees; one whose TTL differs from the Corefile's does not.
    @Test func apiAndCorefileSources() throws {
        let api = try FakeKubeAPI.start()
        defer { api.stop() }
        KubernetesAPITests.seed(api)
        let kubeconfig = try api.writeKubeconfig()
        let server = try ServerProcess(arguments: ["--kubeconfig", kubeconfig, "--pods", "insecure"], http: true, waitForDNS: false)
        defer { server.stop() }
        #expect(KubernetesAPITests.eventually(10) { KubernetesAPITests.ready(server) })
        let fromAPI = try run(ServerProcess.binary, ["compare", "127.0.0.1:\(server.port)", "--kubeconfig", kubeconfig, "--qps", "3000"], timeout: 60)
        #expect(fromAPI.status == 0, "\(fromAPI.out)\(fromAPI.err)")
        #expect(fromAPI.out.contains("differ: 0"), "\(fromAPI.out)")
        let corefile = ServerProcess.repositoryRoot + "/Tests/CorefileTests/Corefiles/eks.Corefile"
        let fromCorefile = try run(ServerProcess.binary, ["compare", "127.0.0.1:\(server.port)", "--corefile", corefile, "--kubeconfig", kubeconfig,
                                                          "--qps", "3000", "--verbose"], timeout: 60)
        // EKS's Corefile keeps the kubernetes plugin's default TTL (5), as the server does.
        #expect(fromCorefile.status == 0, "\(fromCorefile.out)\(fromCorefile.err)")
        let talos = ServerProcess.repositoryRoot + "/Tests/CorefileTests/Corefiles/talos.rendered.Corefile"
        let ttl30 = try run(ServerProcess.binary, ["compare", "127.0.0.1:\(server.port)", "--corefile", talos, "--kubeconfig", kubeconfig,
                                                   "--qps", "3000", "--verbose"], timeout: 60)
        #expect(ttl30.status == 1, "Talos's Corefile says ttl 30: \(ttl30.out)\(ttl30.err)")
        #expect(ttl30.out.contains("web.default.svc.cluster.local. A: expected web.default.svc.cluster.local. A 30; got web.default.svc.cluster.local. A 5"),
                "\(ttl30.out)")
    }

    @Test func unreachableServerIsAnError() throws {
        let r = try run(ServerProcess.binary, ["compare", "127.0.0.1:1", "--zones", Self.zones, "--timeout", "0.2", "--qps", "5000"], timeout: 120)
        #expect(r.status == 1, "every question unanswered is a difference: \(r.out)")
        #expect(r.out.contains("\nunanswered: "))
        let bad = try run(ServerProcess.binary, ["compare", "127.0.0.1:53", "--zones", "/nonexistent"])
        #expect(bad.status == 2, "a source that cannot be read: \(bad.err)")
    }
}
