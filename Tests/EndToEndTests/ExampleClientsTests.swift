import Foundation
import Testing
import TestSupport

/// The README's example, asked by real clients: dig, kdig, drill, and the C library's resolver
/// with the pod search path and ndots:5 (issue 3).
@Suite struct ExampleClientsTests {
    let server: ServerProcess

    init() throws {
        server = try ServerProcess.shared("example") {
            try ServerProcess(arguments: ["--zones", ServerProcess.repositoryRoot + "/zones"], ipv6: true)
        }
    }

    @Test func digOverIPv4AndIPv6() throws {
        let v4 = try run("dig", ["@127.0.0.1", "-p", "\(server.port)", "+short", "web.shop.svc.cluster.local"]).out
        #expect(v4 == "10.96.10.20\n")
        let v6 = try run("dig", ["@::1", "-p", "\(server.port)", "+short", "+tcp", "api.shop.svc.cluster.local", "AAAA"]).out
        #expect(v6 == "fd00:10:96::30\n")
    }

    @Test func kdig() throws {
        try #require(toolExists("kdig"))
        let r = try run("kdig", ["@127.0.0.1", "-p", "\(server.port)", "+short", "_postgres._tcp.db.data.svc.cluster.local", "SRV"]).out
        #expect(r.split(separator: "\n").sorted() == [
            "0 50 5432 db-0.db.data.svc.cluster.local.", "0 50 5432 db-1.db.data.svc.cluster.local.",
        ])
        let tcp = try run("kdig", ["@127.0.0.1", "-p", "\(server.port)", "+tcp", "+short", "-x", "10.96.0.10"]).out
        #expect(tcp == "kube-dns.kube-system.svc.cluster.local.\n")
    }

    @Test func drill() throws {
        try #require(toolExists("drill"))
        let r = try run("drill", ["-p", "\(server.port)", "payments.shop.svc.cluster.local", "@127.0.0.1", "A"]).out
        #expect(r.contains("payments.shop.svc.cluster.local.\t5\tIN\tCNAME\tpayments.example.internal."))
        #expect(r.contains("payments.example.internal.\t300\tIN\tA\t192.0.2.80"))
        #expect(r.contains("rcode: NOERROR"))
    }

    /// glibc's stub resolver, as a pod in `shop` would use it: `web` resolves through the search
    /// path with ndots:5. A private mount namespace (`unshare -m` + a bind mount) keeps the
    /// machine's resolv.conf untouched. glibc only speaks to port 53, so a second server listens
    /// on 127.0.0.153:53; that needs root, which CI has (skipped otherwise).
    @Test func getentThroughSearchPath() throws {
        guard getuid() == 0, toolExists("unshare"), toolExists("getent") else { return }
        let port53 = try ServerProcess.sharedPort53()
        let conf = NSTemporaryDirectory() + "resolv-\(UUID().uuidString).conf"
        try """
        nameserver 127.0.0.153
        search shop.svc.cluster.local svc.cluster.local cluster.local
        options ndots:5 attempts:1 timeout:2
        """.write(toFile: conf, atomically: true, encoding: .utf8)
        let script = "mount --bind \(conf) /etc/resolv.conf && getent hosts web && getent hosts kubernetes.default && getent ahostsv4 db-0.db.data"
        let r = try run("unshare", ["-m", "sh", "-c", script])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("10.96.10.20"))
        #expect(r.out.contains("10.96.0.1"))
        #expect(r.out.contains("10.244.1.20"))
        _ = port53
    }
}

extension ServerProcess {
    /// The example served on 127.0.0.153:53 for the C library's resolver, which only speaks to port 53.
    static func sharedPort53() throws -> ServerProcess {
        try shared("port53") { try ServerProcess(arguments: ["--zones", repositoryRoot + "/zones"], host: "127.0.0.153", port: 53) }
    }
}
