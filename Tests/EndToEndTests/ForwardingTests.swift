import DNSWire
import Foundation
import Synchronization
import Testing
import TestSupport

/// Issue 6: names outside the cluster zones, forwarded to real upstreams on loopback (NSD serving
/// a zone; `FakeUpstream` for the faults) through the cache, with the real binary.
@Suite(.serialized) struct ForwardingTests {
    static let zoneText = """
    $ORIGIN example.test.
    $TTL 300
    @     IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60
    @     IN NS  ns.example.test.
    ns    IN A   127.0.0.1
    www   IN A   192.0.2.10
    www   IN AAAA 2001:db8::10
    mail  IN MX  10 www.example.test.
    alias IN CNAME www.example.test.
    """

    static let zones = ServerProcess.repositoryRoot + "/zones"

    /// A query with the flags a test needs; RD set unless `recursion` is false.
    static func query(_ name: String, _ type: RecordType = .a, recursion: Bool = true, dnssecOK: Bool = false,
                      checkingDisabled: Bool = false, edns: Bool = true) -> [UInt8] {
        var h = Header()
        h.id = UInt16.random(in: 0...UInt16.max)
        h.recursionDesired = recursion
        h.checkingDisabled = checkingDisabled
        let n = try! DNSName(parsing: name.hasSuffix(".") ? name : name + ".")
        return Message(header: h, questions: [Question(name: n, type: type)],
                       edns: edns ? EDNS(udpPayloadSize: 1232, dnssecOK: dnssecOK) : nil).encoded()
    }

    static func ask(_ server: ServerProcess, _ name: String, _ type: RecordType = .a, recursion: Bool = true, dnssecOK: Bool = false,
                    checkingDisabled: Bool = false, edns: Bool = true, timeout: Double = 6) throws -> Message {
        let q = query(name, type, recursion: recursion, dnssecOK: dnssecOK, checkingDisabled: checkingDisabled, edns: edns)
        guard let bytes = DNSClient.udp(q, port: server.port, timeout: timeout) else { throw CaseFailure(description: "no reply to \(name) \(type)") }
        let m = try Message(decoding: bytes)
        #expect(m.header.id == Header(bytes: q).id)
        return m
    }

    static func addresses(_ m: Message) -> [String] {
        m.answers.compactMap { if case .a(let ip) = $0.rdata { "\(ip)" } else if case .aaaa(let ip) = $0.rdata { "\(ip)" } else { nil } }
    }

    static func metrics(_ server: ServerProcess) -> [OperationsTests.Sample] {
        OperationsTests.parse(server.get("/metrics")?.body ?? "")
    }

    /// Waits for `condition`, polling, up to `seconds`.
    static func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > end { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
    }

    static func elapsed(_ body: () throws -> Void) rethrows -> Double {
        let start = Date()
        try body()
        return Date().timeIntervalSince(start)
    }

    func withUpstreams(_ count: Int = 1, _ body: ([FakeUpstream]) throws -> Void) throws {
        let fakes = try (0..<count).map { _ in try FakeUpstream(group: TestGroup.shared) }
        defer { fakes.forEach { $0.stop() } }
        try body(fakes)
    }

    // MARK: - Forwarding

    /// "Names outside the cluster zones must resolve too": through NSD, with RA and without AA;
    /// the cluster zone keeps AA and never reaches the upstream.
    @Test func forwardsToARealUpstream() throws {
        let nsd = try NSDServer(zones: ["example.test": Self.zoneText])
        defer { nsd.stop() }
        let server = try ServerProcess(arguments: ["--zones", Self.zones, "--upstream", "127.0.0.1:\(nsd.port)"])
        defer { _ = server.stop() }

        let www = try Self.ask(server, "WwW.Example.TEST", .a)
        #expect(www.rcode == .noError && Self.addresses(www) == ["192.0.2.10"])
        #expect(www.header.recursionAvailable && !www.header.authoritative)
        // The owner repeats the client's spelling (0x20), not the one we sent upstream.
        #expect(www.answers.first?.name.description == "WwW.Example.TEST.")

        let aaaa = try Self.ask(server, "www.example.test", .aaaa)
        #expect(Self.addresses(aaaa) == ["2001:db8::10"])

        // The MX target comes back compressed against the question NSD echoed (in our random
        // case): it reaches the client in lower case, as the zone has it.
        let mx = try Self.ask(server, "mail.example.test", .mx)
        let kdig = try run("kdig", ["@127.0.0.1", "-p", "\(server.port)", "+short", "mail.example.test", "MX"])
        #expect(kdig.out.trimmingCharacters(in: .whitespacesAndNewlines) == "10 www.example.test.")
        #expect(mx.answers.count == 1)

        let nx = try Self.ask(server, "missing.example.test", .a)
        #expect(nx.rcode == .nxDomain && nx.authority.first?.type == .soa && nx.header.recursionAvailable)

        let cname = try run("dig", ["@127.0.0.1", "-p", "\(server.port)", "+noall", "+answer", "alias.example.test", "A"])
        #expect(cname.out.contains("CNAME") && cname.out.contains("192.0.2.10"))

        // Ours: authoritative, no RA.
        let ours = try Self.ask(server, "kubernetes.default.svc.cluster.local", .a)
        #expect(ours.header.authoritative && !ours.header.recursionAvailable && ours.rcode == .noError)
    }

    /// "The cluster zones are never forwarded", stubs route their domains, and PTR misses in the
    /// reverse zones fall through upstream (kubeadm's `fallthrough in-addr.arpa ip6.arpa`).
    @Test func stubsAndClusterZones() throws {
        try withUpstreams(2) { fakes in
            let (main, corp) = (fakes[0], fakes[1])
            let server = try ServerProcess(arguments: ["--zones", Self.zones, "--upstream", "127.0.0.1:\(main.port)",
                                                       "--stub", "corp.test=127.0.0.1:\(corp.port)"])
            defer { _ = server.stop() }
            #expect(Self.addresses(try Self.ask(server, "db.corp.test")) == ["192.0.2.1"])
            #expect(corp.queries(named: "db.corp.test.") == 1 && main.queries(named: "db.corp.test.") == 0)
            #expect(Self.addresses(try Self.ask(server, "example.org")) == ["192.0.2.1"])
            #expect(main.queries(named: "example.org.") == 1 && corp.queries(named: "example.org.") == 0)

            let missing = try Self.ask(server, "nope.default.svc.cluster.local")
            #expect(missing.rcode == .nxDomain && missing.header.authoritative)
            let known = try Self.ask(server, "kubernetes.default.svc.cluster.local")
            #expect(known.rcode == .noError)
            #expect(main.queries.allSatisfy { !$0.name.lowercased().hasSuffix("cluster.local.") })

            // 10.96.0.1 is the kubernetes Service: ours. 198.51.100.7 is nobody's: upstream.
            let ptr = try Self.ask(server, "1.0.96.10.in-addr.arpa", .ptr)
            #expect(ptr.header.authoritative && ptr.answers.count == 1)
            let outside = try Self.ask(server, "7.100.51.198.in-addr.arpa", .ptr)
            #expect(!outside.header.authoritative && outside.header.recursionAvailable)
            #expect(main.queries(named: "7.100.51.198.in-addr.arpa.") == 1 && main.queries(named: "1.0.96.10.in-addr.arpa.") == 0)
        }
    }

    /// "ExternalName targets outside our zones are resolved through the same path and appended
    /// after the CNAME."
    @Test func externalNameTargetIsResolved() throws {
        let nsd = try NSDServer(zones: ["example.test": Self.zoneText])
        defer { nsd.stop() }
        let dir = NSTemporaryDirectory() + "fwd-ext-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec: {type: ExternalName, externalName: www.example.test}
        """.write(toFile: dir + "/svc.yaml", atomically: true, encoding: .utf8)
        let server = try ServerProcess(arguments: ["--zones", dir, "--upstream", "127.0.0.1:\(nsd.port)"])
        defer { _ = server.stop() }
        let m = try Self.ask(server, "web.default.svc.cluster.local", .a)
        #expect(m.rcode == .noError && m.header.authoritative && m.header.recursionAvailable)
        #expect(m.answers.map(\.type) == [.cname, .a])
        #expect(m.answers.first?.ttl == 5)  // ours
        // The upstream's 300, capped by --cache-ttl (30) like every forwarded answer.
        #expect((28...30).contains(m.answers.last?.ttl ?? 0))
    }

    // MARK: - Cache

    /// "Positive entries live for the answer's TTL, capped (--cache-ttl)": a hit keeps the client's
    /// spelling and nothing goes upstream. How TTLs age and entries expire is
    /// `ForwarderCacheTests`' (on a clock moved by hand); here, that the flags reach the process.
    @Test func cacheHitsAndTheCap() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            up.setTTL(20)
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)", "--prefetch", "0"], http: true)
            defer { _ = server.stop() }
            let first = try Self.ask(server, "cached.example.org")
            #expect(first.answers.first?.ttl == 20)
            let second = try Self.ask(server, "CACHED.example.org")
            #expect((19...20).contains(second.answers.first?.ttl ?? 0) && second.answers.first?.name.description == "CACHED.example.org.")
            #expect(up.queries(named: "cached.example.org.") == 1)

            // The cap: a 300 s answer is kept (and handed out) for 1 s.
            up.setTTL(300)
            let capped = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)", "--cache-ttl", "1"])
            defer { _ = capped.stop() }
            #expect(try Self.ask(capped, "capped.example.org").answers.first?.ttl == 1)

            let samples = Self.metrics(server)
            #expect(OperationsTests.value(samples, "coredns_cache_hits_total", ["type": "success"]) == 1)
            #expect(OperationsTests.value(samples, "coredns_cache_misses_total") == 1)
            #expect(OperationsTests.value(samples, "coredns_forward_requests_total", ["to": "127.0.0.1:\(up.port)"]) == 1)
            #expect(OperationsTests.value(samples, "coredns_forward_responses_total", ["rcode": "NOERROR"]) == 1)
        }
    }

    /// "Negative ones per RFC 2308 (SOA minimum), capped by --cache-denial-ttl"; an NXDOMAIN
    /// without an SOA is not cached (RFC 2308 §5). Their expiry: `ForwarderCacheTests`.
    @Test func negativeCaching() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)", "--cache-denial-ttl", "1"], http: true)
            defer { _ = server.stop() }
            let nx = try Self.ask(server, "nx1.example.org")
            #expect(nx.rcode == .nxDomain && nx.authority.first?.ttl == 1)
            _ = try Self.ask(server, "nx1.example.org")
            #expect(up.queries(named: "nx1.example.org.") == 1)
            // NODATA (an MX where the fake has only A) is negative too.
            _ = try Self.ask(server, "nodata.example.org", .mx)
            _ = try Self.ask(server, "nodata.example.org", .mx)
            #expect(up.queries.filter { $0.type == .mx }.count == 1)
            #expect(OperationsTests.value(Self.metrics(server), "coredns_cache_hits_total", ["type": "denial"]) == 2)

            up.set(.nxWithoutSOA)
            _ = try Self.ask(server, "nx2.example.org")
            _ = try Self.ask(server, "nx2.example.org")
            #expect(up.queries(named: "nx2.example.org.") == 2)
        }
    }

    /// "Keys include name (case-insensitive), type, class and the DO and CD bits."
    @Test func cacheKey() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)"])
            defer { _ = server.stop() }
            _ = try Self.ask(server, "key.example.org")
            _ = try Self.ask(server, "KEY.EXAMPLE.ORG")
            _ = try Self.ask(server, "key.example.org", dnssecOK: true)
            _ = try Self.ask(server, "key.example.org", checkingDisabled: true)
            _ = try Self.ask(server, "key.example.org", dnssecOK: true, checkingDisabled: true)
            _ = try Self.ask(server, "key.example.org", .aaaa)
            let seen = up.queries.filter { $0.name.lowercased() == "key.example.org." }
            #expect(seen.count == 5)
            #expect(Set(seen.map { "\($0.type) \($0.dnssecOK) \($0.checkingDisabled)" }).count == 5)
            // A non-IN class is refused before any of this (we serve IN only).
            var h = Header()
            h.id = 7
            h.recursionDesired = true
            let chaos = Message(header: h, questions: [Question(name: DNSName("key.example.org.")!, type: .a, recordClass: RecordClass(rawValue: 3))]).encoded()
            #expect(try Message(decoding: DNSClient.udp(chaos, port: server.port) ?? []).rcode == .refused)
        }
    }

    /// "Answers from the index are never cached a second time": a file change shows at once
    /// (issue 3's reload), while the same server caches upstream answers.
    @Test func indexAnswersAreNotCached() throws {
        try withUpstreams { fakes in
            let dir = NSTemporaryDirectory() + "fwd-idx-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            func write(_ ip: String) throws {
                try "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: default}\nspec: {clusterIP: \(ip)}\n"
                    .write(toFile: dir + "/svc.yaml", atomically: true, encoding: .utf8)
            }
            try write("10.0.0.1")
            let server = try ServerProcess(arguments: ["--zones", dir, "--upstream", "127.0.0.1:\(fakes[0].port)"])
            defer { _ = server.stop() }
            #expect(Self.addresses(try Self.ask(server, "api.default.svc.cluster.local")) == ["10.0.0.1"])
            try write("10.0.0.2")
            var seen: [String] = []
            for _ in 0..<30 {
                seen = Self.addresses(try Self.ask(server, "api.default.svc.cluster.local"))
                if seen == ["10.0.0.2"] { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect(seen == ["10.0.0.2"])
        }
    }

    /// RD=0 (reliability.md §2.1, RFC 1034 §4.3.1): answered from the cache only, REFUSED on a
    /// miss; nothing is sent upstream.
    @Test func noRecursionDesired() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)"])
            defer { _ = server.stop() }
            let miss = try Self.ask(server, "rd.example.org", recursion: false)
            #expect(miss.rcode == .refused && up.queries.isEmpty)
            _ = try Self.ask(server, "rd.example.org")
            let hit = try Self.ask(server, "rd.example.org", recursion: false)
            #expect(hit.rcode == .noError && Self.addresses(hit) == ["192.0.2.1"] && !hit.header.recursionDesired)
            #expect(up.queries.count == 1)
        }
    }

    /// "Prefetch of popular entries shortly before they expire."
    @Test func prefetch() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            up.setTTL(2)
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)", "--prefetch", "1"], http: true)
            defer { _ = server.stop() }
            _ = try Self.ask(server, "popular.example.org")
            Thread.sleep(forTimeInterval: 1.2)
            _ = try Self.ask(server, "popular.example.org")  // 1 s left of 2: refreshed behind this answer
            // The refreshed entry serving past the first one's expiry: `ForwarderCacheTests`.
            #expect(Self.eventually { up.queries(named: "popular.example.org.") == 2 })
            let samples = Self.metrics(server)
            #expect(OperationsTests.value(samples, "coredns_cache_misses_total") == 1)
            #expect(OperationsTests.value(samples, "coredns_cache_prefetch_total") >= 1)
        }
    }

    /// "Serve-stale (RFC 8767) as an option": an expired answer with TTL 30 when every upstream
    /// fails, and only then.
    @Test func serveStale() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            up.setTTL(1)
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)", "--serve-stale", "60",
                                                       "--upstream-timeout", "0.2", "--prefetch", "0"], http: true)
            defer { _ = server.stop() }
            #expect(try Self.ask(server, "stale.example.org").answers.first?.ttl == 1)
            Thread.sleep(forTimeInterval: 1.1)
            up.set(.silent)
            let stale = try Self.ask(server, "stale.example.org")
            #expect(stale.rcode == .noError && Self.addresses(stale) == ["192.0.2.1"] && stale.answers.first?.ttl == 30)
            #expect(OperationsTests.value(Self.metrics(server), "coredns_cache_served_stale_total") == 1)
            // Never stale when nothing was cached.
            #expect(try Self.ask(server, "never.example.org").rcode == .servFail)
        }
    }

    // MARK: - Faults

    /// Issue 14: "when every upstream is down, an uncached name answers SERVFAIL in under 3 s (a
    /// glibc client's first retry comes at 5 s), and once the upstreams are known down, at once."
    /// Default timeouts; the upstreams never answer.
    @Test func silentUpstreamsAnswerWithinThreeSeconds() throws {
        try withUpstreams(2) { fakes in
            fakes.forEach { $0.set(.silent) }
            let server = try ServerProcess(arguments: fakes.flatMap { ["--upstream", "127.0.0.1:\($0.port)"] })
            defer { _ = server.stop() }
            var first: Message?
            let seconds = try Self.elapsed { first = try Self.ask(server, "slow.example.org") }
            #expect(first?.rcode == .servFail)
            #expect(seconds < 3, "\(seconds) s")
            // Both upstreams have now failed twice in a row (two attempts each at most): down.
            _ = try Self.ask(server, "slow2.example.org")
            var third: Message?
            let known = try Self.elapsed { third = try Self.ask(server, "slow3.example.org") }
            #expect(third?.rcode == .servFail)
            #expect(known < 0.1, "\(known) s")
        }
    }

    /// "TCP when an upstream truncates", and `--force-tcp`. The client's own UDP limit still holds:
    /// a big answer reaches a UDP client as TC=1, whole over TCP.
    @Test func truncationGoesToTCP() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            up.set(.truncateUDP)
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)"], http: true)
            defer { _ = server.stop() }
            let udp = try Self.ask(server, "big.example.org", .txt)
            #expect(udp.header.truncated && udp.answers.isEmpty)
            let tcp = try run("dig", ["@127.0.0.1", "-p", "\(server.port)", "+tcp", "+noall", "+answer", "big.example.org", "TXT"])
            #expect(tcp.out.split(separator: "\n").count == 40)
            #expect(up.queries.filter { $0.tcp }.count == 1)  // the TCP retry, then the cache
            #expect(OperationsTests.value(Self.metrics(server), "clusterdns_forward_tcp_retries_total") == 1)

            up.set(.answer)
            let forced = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)", "--force-tcp"])
            defer { _ = forced.stop() }
            #expect(Self.addresses(try Self.ask(forced, "forced.example.org")) == ["192.0.2.1"])
            #expect(up.queries.filter { $0.name.lowercased() == "forced.example.org." }.map(\.tcp) == [true])
        }
    }

    /// "Timeout and retry on the next upstream"; a SERVFAIL upstream is passed over; "when all
    /// are down, answers are SERVFAIL quickly", and a recovered upstream is used again.
    @Test func failOverAndHealth() throws {
        try withUpstreams(2) { fakes in
            let (dead, good) = (fakes[0], fakes[1])
            dead.set(.silent)
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(dead.port)", "--upstream", "127.0.0.1:\(good.port)",
                                                       "--upstream-timeout", "0.3", "--prefetch", "0"], http: true)
            defer { _ = server.stop() }
            for i in 0..<8 {
                #expect(Self.addresses(try Self.ask(server, "f\(i).example.org")) == ["192.0.2.1"])
            }
            // Two timeouts mark it down: after that nothing waits on it.
            #expect(dead.queries.count <= 2)
            let fast = try Self.elapsed { _ = try Self.ask(server, "fast.example.org") }
            #expect(fast < 0.25)

            dead.set(.servFail)  // health checks now get an answer: it is back
            Thread.sleep(forTimeInterval: 1.2)
            good.set(.servFail)
            let both = try Self.ask(server, "both.example.org")
            #expect(both.rcode == .servFail && both.header.recursionAvailable)
            #expect(dead.queries(named: "both.example.org.") == 1 && good.queries(named: "both.example.org.") == 1)

            dead.set(.silent)
            good.set(.silent)
            _ = try Self.ask(server, "down1.example.org")  // times out on both: both marked down
            _ = try Self.ask(server, "down2.example.org")
            var quick = 0.0
            let m = try { () throws -> Message in
                var reply: Message?
                quick = try Self.elapsed { reply = try Self.ask(server, "down3.example.org") }
                return reply!
            }()
            #expect(m.rcode == .servFail && quick < 0.1)
            #expect(OperationsTests.value(Self.metrics(server), "coredns_forward_healthcheck_broken_total") >= 1)

            good.set(.answer)
            Thread.sleep(forTimeInterval: 1.5)
            #expect(Self.addresses(try Self.ask(server, "back.example.org")) == ["192.0.2.1"])
            // The dead one is still probed, and failing.
            #expect(OperationsTests.value(Self.metrics(server), "coredns_forward_healthcheck_failures_total", ["to": "127.0.0.1:\(dead.port)"]) >= 1)
        }
    }

    /// "A response is accepted only if its source, ID and question match; everything else is
    /// dropped and counted" — and we keep waiting for the real one (TuDoor, CVE-2023-28452).
    @Test func spoofedRepliesAreIgnored() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            up.set(.spoofFirst)
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)"], http: true)
            defer { _ = server.stop() }
            let m = try Self.ask(server, "bank.example.org")
            #expect(Self.addresses(m) == ["192.0.2.1"])
            up.set(.answer)
            #expect(Self.addresses(try Self.ask(server, "bank.example.org")) == ["192.0.2.1"])  // and cached so
            let samples = Self.metrics(server)
            for reason in ["wrong_source", "wrong_id", "wrong_question", "malformed"] {
                #expect(OperationsTests.value(samples, "clusterdns_forward_ignored_replies_total", ["reason": reason]) == 1, "\(reason)")
            }
        }
    }

    /// "Each upstream query has a random ID and a random source port" (and a random 0x20 case).
    @Test func idsPortsAndCaseAreRandom() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)"])
            defer { _ = server.stop() }
            for i in 0..<64 { _ = try Self.ask(server, "random\(i).example.org") }
            let seen = up.queries
            #expect(seen.count == 64)
            #expect(Set(seen.map(\.id)).count >= 60)
            #expect(Set(seen.map(\.sourcePort)).count >= 60)
            #expect(Set(seen.map { $0.name.replacingOccurrences(of: "[0-9]", with: "", options: .regularExpression) }).count >= 32)
        }
    }

    /// "Identical in-flight questions are sent once. Concurrency is bounded (--max-concurrent):
    /// the excess gets SERVFAIL at once, counted."
    @Test func dedupeAndOverload() throws {
        try withUpstreams { fakes in
            let up = fakes[0]
            up.set(.delay(milliseconds: 400))
            let server = try ServerProcess(arguments: ["--upstream", "127.0.0.1:\(up.port)", "--max-concurrent", "5"], http: true)
            defer { _ = server.stop() }
            let same = (0..<20).map { _ in Self.query("same.example.org") }
            let replies = DNSClient.burst(same, port: server.port).compactMap { try? Message(decoding: $0.reply) }
            #expect(replies.count == 20)
            #expect(replies.allSatisfy { Self.addresses($0) == ["192.0.2.1"] })
            #expect(up.queries(named: "same.example.org.") == 1)

            // 40 different names at once, 5 may be in flight: the rest SERVFAIL at once.
            let all = DNSClient.burst((0..<40).map { Self.query("many\($0).example.org") }, port: server.port)
                .compactMap { r in (try? Message(decoding: r.reply)).map { ($0.rcode, r.seconds) } }
            let failed = all.filter { $0.0 == .servFail }
            #expect(all.count == 40)
            #expect(failed.count == 35 && failed.allSatisfy { $0.1 < 0.3 })
            #expect(OperationsTests.value(Self.metrics(server), "coredns_forward_max_concurrent_rejects_total") == Double(failed.count))
            #expect(server.process.isRunning)
        }
    }

    /// "Loops are refused with a clear error at start-up (an upstream that is one of our own
    /// listen addresses)": explicit and from resolv.conf, and never for a wildcard listener's
    /// other ports.
    @Test func loopRefusedAtStartUp() throws {
        let port = ServerProcess.freePort()
        let bin = ServerProcess.binary
        let explicit = try run(bin, ["serve", "--listen", "127.0.0.1:\(port)", "--upstream", "127.0.0.1:\(port)", "--health-listen", "off",
                                     "--ready-listen", "off", "--metrics-listen", "off"])
        #expect(explicit.status != 0)
        #expect(explicit.err.contains("upstream 127.0.0.1:\(port) is this server"))

        let resolv = NSTemporaryDirectory() + "resolv-\(UUID().uuidString).conf"
        try "# systemd-resolved stub\nnameserver 127.0.0.53\noptions edns0\n".write(toFile: resolv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: resolv) }
        let stub = try run(bin, ["serve", "--listen", "0.0.0.0:53", "--resolv-conf", resolv, "--health-listen", "off",
                                 "--ready-listen", "off", "--metrics-listen", "off"])
        #expect(stub.status != 0)
        #expect(stub.err.contains("upstream 127.0.0.53:53 is this server (listening on 0.0.0.0:53)"))

        let clusterStub = try run(bin, ["serve", "--listen", "127.0.0.1:\(port)", "--upstream", "192.0.2.53", "--stub", "svc.cluster.local=192.0.2.54",
                                        "--health-listen", "off", "--ready-listen", "off", "--metrics-listen", "off"])
        #expect(clusterStub.status != 0 && clusterStub.err.contains("never forwarded"))
    }

    /// "…and detected at run time without exiting the process": an upstream that hands our
    /// queries back to us is recognised by our own spelling, answered SERVFAIL at once, logged,
    /// counted and left alone for a while; the server keeps serving.
    @Test func loopDetectedAtRunTime() throws {
        try withUpstreams { fakes in
            let relay = fakes[0]
            let port = ServerProcess.freePort()
            relay.set(.relay(port: port))
            let server = try ServerProcess(arguments: ["--zones", Self.zones, "--upstream", "127.0.0.1:\(relay.port)"],
                                           port: port, http: true)
            defer { _ = server.stop() }
            var reply: Message?
            let took = try Self.elapsed { reply = try Self.ask(server, "looping.example.org") }
            #expect(reply?.rcode == .servFail && took < 1)
            #expect(server.log.contains("forwarding loop"))
            #expect(OperationsTests.value(Self.metrics(server), "clusterdns_forward_loops_total") >= 1)
            #expect(server.process.isRunning)
            #expect(try Self.ask(server, "kubernetes.default.svc.cluster.local").rcode == .noError)
            // The looping upstream is skipped now: SERVFAIL without asking it.
            let before = relay.queries.count
            #expect(try Self.ask(server, "again.example.org").rcode == .servFail)
            #expect(relay.queries.count == before)
        }
    }
}
