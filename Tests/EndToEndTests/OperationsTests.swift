import DNSWire
import Foundation
import Testing
import TestSupport

/// Issue 5: what an operator sees. /health, /ready and /metrics on their own listeners, CoreDNS's
/// metric names, lame duck on SIGTERM, query logs, and bad packets summarised rather than logged
/// one by one.
@Suite(.serialized) struct OperationsTests {
    /// One scraped sample: `name{labels} value`.
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    static func parse(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: "\",") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                labels[String(kv[0]).trimmingCharacters(in: .init(charactersIn: ","))] = String(kv[1]).trimmingCharacters(in: .init(charactersIn: "\""))
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }

    /// The sum of every sample of `name` whose labels include `match`.
    static func value(_ samples: [Sample], _ name: String, _ match: [String: String] = [:]) -> Double {
        samples.filter { s in s.name == name && match.allSatisfy { s.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }

    func dig(_ port: Int, _ args: [String]) throws -> String {
        try run("dig", ["@127.0.0.1", "-p", "\(port)", "+time=1", "+tries=1"] + args).out
    }

    static let zones = ServerProcess.repositoryRoot + "/zones"

    /// "Scrape /metrics after a known set of queries and check the counts" — CoreDNS's families
    /// with CoreDNS's labels (server, zone, proto, family, type / rcode), no names or addresses.
    @Test func metricsCountKnownQueries() throws {
        let s = try ServerProcess(arguments: ["--zones", Self.zones], http: true)
        defer { s.stop() }
        let server = "dns://127.0.0.1:\(s.port)"
        for _ in 0..<3 { #expect(try dig(s.port, ["+short", "web.shop.svc.cluster.local"]) == "10.96.10.20\n") }
        for _ in 0..<2 { #expect(try dig(s.port, ["nope.shop.svc.cluster.local"]).contains("NXDOMAIN")) }
        #expect(try dig(s.port, ["+tcp", "+short", "api.shop.svc.cluster.local", "AAAA"]) == "fd00:10:96::30\n")
        #expect(try dig(s.port, ["example.org"]).contains("REFUSED"))
        // A packet shorter than a header is dropped and counted as malformed.
        _ = DNSClient.udp([1, 2, 3], port: s.port, timeout: 0.2)
        // A datagram over 4 KiB is no query a client sends unfragmented: dropped, counted.
        #expect(DNSClient.udp(DNSClient.query("web.shop.svc.cluster.local.", .a) + [UInt8](repeating: 0, count: 5000), port: s.port,
                              timeout: 0.2) == nil)

        let scrape = try #require(s.get("/metrics"))
        #expect(scrape.status == 200)
        let m = Self.parse(scrape.body)
        let zone = ["server": server, "zone": "cluster.local."]
        #expect(Self.value(m, "coredns_dns_requests_total", zone.merging(["proto": "udp", "family": "1", "type": "A"]) { $1 }) == 5)
        #expect(Self.value(m, "coredns_dns_requests_total", zone.merging(["proto": "tcp", "family": "1", "type": "AAAA"]) { $1 }) == 1)
        #expect(Self.value(m, "coredns_dns_requests_total", ["server": server, "zone": ".", "type": "A"]) == 1)
        // NOERROR: 3 A, 1 AAAA, and the TXT query ServerProcess sends to see that the server is up.
        #expect(Self.value(m, "coredns_dns_responses_total", zone.merging(["rcode": "NOERROR"]) { $1 }) == 5)
        #expect(Self.value(m, "coredns_dns_responses_total", zone.merging(["rcode": "NXDOMAIN"]) { $1 }) == 2)
        #expect(Self.value(m, "coredns_dns_responses_total", ["zone": ".", "rcode": "REFUSED"]) == 1)
        #expect(Self.value(m, "coredns_dns_request_duration_seconds_count", zone.merging(["type": "A"]) { $1 }) == 5)
        #expect(Self.value(m, "coredns_dns_request_duration_seconds_bucket", zone.merging(["type": "A", "le": "+Inf"]) { $1 }) == 5)
        #expect(Self.value(m, "coredns_dns_request_size_bytes_count", zone.merging(["proto": "tcp"]) { $1 }) == 1)
        #expect(Self.value(m, "coredns_dns_response_size_bytes_count", zone.merging(["proto": "udp"]) { $1 }) == 6)
        #expect(Self.value(m, "clusterdns_dropped_packets_total", ["reason": "malformed"]) == 1)
        #expect(Self.value(m, "clusterdns_dropped_packets_total", ["reason": "oversized"]) == 1)
        #expect(Self.value(m, "clusterdns_dropped_packets_total", ["reason": "send_failed"]) == 0)
        #expect(Self.value(m, "coredns_build_info") == 1)
        #expect(Self.value(m, "clusterdns_index_objects", ["kind": "service"]) == 6)
        #expect(Self.value(m, "clusterdns_index_records", ["type": "A"]) > 0)
        #expect(Self.value(m, "clusterdns_snapshot_builds_total") >= 1)
        #expect(m.contains { $0.name == "clusterdns_source_seconds_since_sync" && $0.labels["source"] == "zones" })
        #expect(m.contains { $0.name == "clusterdns_tcp_connections_open" })
        // Low cardinality: no query names, no client addresses in any label.
        #expect(!scrape.body.contains("web.shop"))
        #expect(!m.flatMap(\.labels.values).contains { $0.contains("shop") || $0 == "127.0.0.1" })

        // Each endpoint is on its own listener; the others 404 there.
        #expect(HTTPGet.get(port: s.httpPorts!.metrics, path: "/health")?.status == 404)
        #expect(s.get("/health")?.status == 200)
    }

    /// "/ready — 200 only when every source has synced"; a broken file degrades but does not
    /// unready (its last good data serves), and says file:line in the log and on /ready.
    @Test func readyAndABrokenZonesFile() throws {
        let dir = try Fixtures.directory(copyingExample: false, extra: ["a.yaml": ReloadTests.service("alpha", "10.96.50.1")])
        let s = try ServerProcess(arguments: ["--zones", dir], http: true)
        defer { s.stop() }
        #expect(s.get("/ready")?.status == 200)
        #expect(s.get("/ready")?.body == "OK\n")

        try "apiVersion: v1\nkind: Service\nmetadata: {name: alpha\n  bad: [".write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        var ready: HTTPGet.Reply?
        for _ in 0..<30 {
            ready = s.get("/ready")
            if ready?.body.contains("a.yaml:") == true { break }
            usleep(100_000)
        }
        #expect(ready?.status == 200)
        #expect(ready?.body.contains("zones: serving last good data: \(dir)/a.yaml:") == true)
        #expect(s.log.contains("error clusterdns: [ClusterDNSApp] \(dir)/a.yaml:4: YAML:"))
        #expect(try dig(s.port, ["+short", "alpha.default.svc.cluster.local"]) == "10.96.50.1\n")
        let m = Self.parse(s.get("/metrics")?.body ?? "")
        #expect(Self.value(m, "clusterdns_reload_errors_total", ["source": "zones"]) >= 1)

        // Fixed: the warning goes.
        try ReloadTests.service("alpha", "10.96.50.9").write(toFile: dir + "/a.yaml", atomically: true, encoding: .utf8)
        for _ in 0..<30 where s.get("/ready")?.body != "OK\n" { usleep(100_000) }
        #expect(s.get("/ready")?.body == "OK\n")
    }

    /// "after SIGTERM, /ready turns 503 at once while DNS keeps answering for --lameduck
    /// seconds, then listeners close, in-flight answers finish, exit 0."
    @Test func lameDuck() throws {
        let s = try ServerProcess(arguments: ["--zones", Self.zones, "--lameduck", "2"], http: true)
        #expect(s.get("/ready")?.status == 200)
        let start = Date()
        s.signal(SIGTERM)
        var ready: HTTPGet.Reply?
        for _ in 0..<20 {
            ready = s.get("/ready")
            if ready?.status == 503 { break }
            usleep(20_000)
        }
        #expect(ready?.status == 503)
        #expect(ready?.body.contains("shutting down") == true)
        #expect(s.get("/health")?.status == 200)
        // A query sent during lame duck is answered, over UDP and TCP.
        #expect(try dig(s.port, ["+short", "web.shop.svc.cluster.local"]) == "10.96.10.20\n")
        #expect(try dig(s.port, ["+tcp", "+short", "web.shop.svc.cluster.local"]) == "10.96.10.20\n")
        #expect(Date().timeIntervalSince(start) < 1.5)
        #expect(s.waitForExit() == 0)
        let took = Date().timeIntervalSince(start)
        #expect(took >= 1.9 && took < 5, "lame duck took \(took) s")
        #expect(s.log.contains("lame duck"))
        #expect(s.log.contains("stopped"))
        // Closed afterwards.
        #expect(DNSClient.udp(DNSClient.query("web.shop.svc.cluster.local.", .a), port: s.port, timeout: 0.3) == nil)
    }

    /// A second signal during lame duck ends it at once.
    @Test func secondSignalCutsLameDuckShort() throws {
        let s = try ServerProcess(arguments: ["--zones", Self.zones, "--lameduck", "30"], http: true)
        let start = Date()
        s.signal(SIGTERM)
        usleep(300_000)
        #expect(s.get("/ready")?.status == 503)
        s.signal(SIGINT)
        #expect(s.stop() == 0)
        #expect(Date().timeIntervalSince(start) < 5)
    }

    /// "--log-queries: one line per query (client, name, type, rcode, size, duration)".
    @Test func queryLog() throws {
        let s = try ServerProcess(arguments: ["--zones", Self.zones, "--log-queries"])
        defer { s.stop() }
        _ = try dig(s.port, ["nope.shop.svc.cluster.local", "AAAA"])
        usleep(100_000)
        let line = try #require(s.log.split(separator: "\n").first { $0.contains("name=nope.shop.svc.cluster.local.") })
        for field in ["client=127.0.0.1:", "type=AAAA", "rcode=NXDOMAIN", "proto=udp", "size=", "duration_us=", "] query"] {
            #expect(line.contains(field), "\(field) missing in \(line)")
        }
    }

    /// "Under a flood of bad packets, errors are summarised periodically, not logged per packet."
    @Test func badPacketsAreSummarised() throws {
        let s = try ServerProcess(arguments: ["--zones", Self.zones, "--log-summary-interval", "1"])
        defer { s.stop() }
        var formerr = DNSClient.query("web.shop.svc.cluster.local.", .a)
        formerr += [0, 0]  // trailing bytes: FORMERR
        for _ in 0..<200 {
            _ = DNSClient.udp([0xAB], port: s.port, timeout: 0.001)
        }
        for _ in 0..<20 { _ = DNSClient.udp(formerr, port: s.port, timeout: 0.5) }
        func total(_ key: String, _ lines: [Substring]) -> Int {
            lines.compactMap { line -> Int? in
                line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.split(separator: "=")[1]) }
            }.reduce(0, +)
        }
        var summaries: [Substring] = []
        for _ in 0..<40 {
            summaries = s.log.split(separator: "\n").filter { $0.contains("bad packets since the last summary") }
            if total("dropped_malformed", summaries) >= 200, total("formerr_replies", summaries) >= 20 { break }
            usleep(100_000)
        }
        #expect(total("dropped_malformed", summaries) == 200)
        #expect(total("formerr_replies", summaries) == 20)
        #expect(summaries.count <= 3, "one line per interval, not per packet: \(summaries.count)")
        #expect(s.log.split(separator: "\n").count < 30)
    }
}
