import DNSWire
import Foundation
import Testing
import TestSupport

/// CoreDNS `loadbalance` (in the stock Corefile): "randomizes the order of A, AAAA and MX
/// records" so clients that take the first address spread over a headless Service's pods. Here
/// the A and AAAA sets rotate by one per reply (on by default, `--no-loadbalance` turns it off),
/// over UDP and TCP, answered by `dig` against the real server.
@Suite(.serialized) struct LoadBalanceTests {
    static func world() throws -> String {
        try Fixtures.directory(copyingExample: false, extra: ["world.yaml": SpecWorld.yaml])
    }

    static func firstAddresses(_ port: Int, tcp: Bool, times: Int = 6) throws -> [String] {
        try (0..<times).map { _ in
            let r = try run("dig", ["@127.0.0.1", "-p", "\(port)", "+short", "+tries=1", "+time=3"] + (tcp ? ["+tcp"] : [])
                            + ["hdls1.testns.svc.cluster.local", "A"])
            let lines = r.out.split(separator: "\n").map(String.init)
            #expect(lines.count >= 2, "a headless Service with several addresses: \(r.out)")
            return lines.first ?? ""
        }
    }

    @Test func rotatesByDefault() throws {
        let server = try ServerProcess(arguments: ["--zones", try Self.world()])
        defer { _ = server.stop() }
        for tcp in [false, true] {
            let firsts = try Self.firstAddresses(server.port, tcp: tcp)
            #expect(Set(firsts).count >= 2, "\(tcp ? "TCP" : "UDP"): the first address never changed: \(firsts)")
        }
    }

    @Test func offKeepsStoredOrder() throws {
        let server = try ServerProcess(arguments: ["--zones", try Self.world(), "--no-loadbalance"])
        defer { _ = server.stop() }
        for tcp in [false, true] {
            let firsts = try Self.firstAddresses(server.port, tcp: tcp)
            #expect(Set(firsts).count == 1, "\(tcp ? "TCP" : "UDP"): order changed with --no-loadbalance: \(firsts)")
        }
    }
}
