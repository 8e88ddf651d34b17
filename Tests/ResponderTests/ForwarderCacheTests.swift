import DNSWire
import Forwarding
import Logging
import Synchronization
import Testing
import TestSupport

/// The forwarder's cache on a clock the test moves by hand: TTLs aged, expiry, serve-stale and
/// prefetch decided without waiting for wall time. The upstream is a loopback fake; only what
/// it is asked is waited for, never the clock.
@Suite struct ForwarderCacheTests {
    final class ManualClock: Sendable {
        let nanos = Atomic<UInt64>(1_000 * 1_000_000_000)
        func advance(seconds: UInt64) { nanos.add(seconds * 1_000_000_000, ordering: .relaxed) }
        var read: @Sendable () -> UInt64 { { self.nanos.load(ordering: .relaxed) } }
    }

    struct Setup {
        let fake: FakeUpstream
        let clock = ManualClock()
        let forwarder: Forwarder

        init(ttl: UInt32, _ tune: (inout ForwardConfiguration) -> Void = { _ in }) throws {
            fake = try FakeUpstream(group: TestGroup.shared)
            fake.setTTL(ttl)
            var config = ForwardConfiguration(upstreams: [.init(host: "127.0.0.1", port: fake.port)])
            config.attemptTimeout = .milliseconds(500)
            config.deadline = .milliseconds(900)
            tune(&config)
            forwarder = try Forwarder(configuration: config, group: TestGroup.shared, logger: Logger(label: "test"), clock: clock.read)
        }

        func stop() {
            forwarder.stop()
            fake.stop()
        }

        func request(_ name: String) -> UpstreamRequest {
            var h = Header()
            h.id = 4242
            h.recursionDesired = true
            let q = Question(name: DNSName(name)!, type: .a)
            let bytes = Message(header: h, questions: [q]).encoded()
            return UpstreamRequest(question: q, header: h, dnssecOK: false, questionBytes: Array(bytes[12...]), routingName: q.name)
        }

        func resolve(_ name: String) async throws -> UpstreamAnswer {
            try await forwarder.resolve(request(name), on: TestGroup.shared.next()).get()
        }

        /// The answer's TTL as the client would see it now.
        func ttl(_ answer: UpstreamAnswer?) throws -> UInt32? {
            guard case .response(let entry, let stale)? = answer else { return nil }
            let r = request("www.example.org.")
            let bytes = entry.reply(to: r.header, questionBytes: r.questionBytes, edns: nil, limit: 512, now: forwarder.now(), staleTTL: stale)
            return try Message(decoding: bytes).answers.first?.ttl
        }
    }

    // RFC 1035 §3.2.1: TTL is "the time interval that the resource record may be cached before the
    // source of the information should again be consulted". The cache hands out what is left of
    // it, capped by `cache 30` (CoreDNS's cap: what we hand out never outlives what we keep).
    @Test func ttlsCountDownAndExpire() async throws {
        let s = try Setup(ttl: 100)
        defer { s.stop() }
        let first = try await s.resolve("www.example.org.")
        #expect(try s.ttl(first) == 30, "capped at the cache's 30 s")
        s.clock.advance(seconds: 12)
        let hit = s.forwarder.cached(s.request("www.example.org."))
        #expect(try s.ttl(hit) == 18)
        s.clock.advance(seconds: 18)
        #expect(s.forwarder.cached(s.request("www.example.org.")) == nil, "expired at 30 s")
        #expect(s.fake.queries(named: "www.example.org.") == 1)
    }

    // RFC 8767 §4: "If the data is unable to be authoritatively refreshed when the TTL expires,
    // the record MAY be used as though it is unexpired." §5: a TTL of 30 s for stale answers.
    @Test func staleAnswerWhenUpstreamFails() async throws {
        let s = try Setup(ttl: 60) {
            $0.cache.maxTTL = 3600
            $0.cache.serveStale = .seconds(600)
        }
        defer { s.stop() }
        _ = try await s.resolve("www.example.org.")
        s.clock.advance(seconds: 61)
        #expect(s.forwarder.cached(s.request("www.example.org.")) == nil, "a stale entry is not a hit")
        s.fake.set(.servFail)
        let stale = try await s.resolve("www.example.org.")
        guard case .response(_, let staleTTL) = stale else {
            Issue.record("stale answer expected, got \(stale)")
            return
        }
        #expect(staleTTL == 30)
        #expect(try s.ttl(stale) == 30)
        // Past the serve-stale window the failure is the answer.
        s.clock.advance(seconds: 600)
        guard case .failed = try await s.resolve("www.example.org.") else {
            Issue.record("past the window: failed")
            return
        }
    }

    // CoreDNS cache `prefetch AMOUNT`: an item asked for AMOUNT times is fetched again before it
    // expires (when 10 % of its TTL is left), so popular names never miss.
    @Test func popularEntriesArePrefetched() async throws {
        let s = try Setup(ttl: 100) {
            $0.cache.maxTTL = 3600
            $0.cache.prefetchHits = 2
        }
        defer { s.stop() }
        _ = try await s.resolve("www.example.org.")
        s.clock.advance(seconds: 50)
        _ = s.forwarder.cached(s.request("www.example.org."))
        _ = s.forwarder.cached(s.request("www.example.org."))
        #expect(s.fake.queries(named: "www.example.org.") == 1, "half its TTL left: not yet")
        s.clock.advance(seconds: 41)
        #expect(try s.ttl(s.forwarder.cached(s.request("www.example.org."))) == 9)
        #expect(try await eventually { s.fake.queries(named: "www.example.org.") == 2 }, "fetched again with 9 s left")
        // The refreshed entry outlives the first one's 100 s.
        #expect(try await eventually { (try? s.ttl(s.forwarder.cached(s.request("www.example.org.")))) == 100 })
        s.clock.advance(seconds: 20)
        #expect(try s.ttl(s.forwarder.cached(s.request("www.example.org."))) == 80)
    }

    // RFC 2308 §5: "the TTL of this record is set from the minimum of the MINIMUM field of the
    // SOA record and the TTL of the SOA itself". The fake's SOA: TTL 60, MINIMUM 60; capped by
    // `cache` to 30 as CoreDNS's denial cap.
    @Test func negativeAnswersLiveForTheSOAMinimum() async throws {
        let s = try Setup(ttl: 100) { $0.cache.maxDenialTTL = 3600 }
        defer { s.stop() }
        _ = try await s.resolve("nxname.example.org.")
        s.clock.advance(seconds: 59)
        #expect(s.forwarder.cached(s.request("nxname.example.org.")) != nil)
        s.clock.advance(seconds: 1)
        #expect(s.forwarder.cached(s.request("nxname.example.org.")) == nil, "gone at the SOA's 60 s")
    }

    func eventually(_ condition: () throws -> Bool) async throws -> Bool {
        for _ in 0..<250 where try !condition() { try await Task.sleep(for: .milliseconds(20)) }
        return try condition()
    }
}
