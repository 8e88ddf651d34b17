import DNSServer
import DNSWire
import Forwarding
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

/// README, Operations: "Then the listeners close, answers in flight are written, and the process
/// exits 0." A question waiting on an upstream that never answers is answered (SERVFAIL) when the
/// forwarder stops, not when its deadline comes, and its flight no longer holds the forwarder.
@Suite struct ForwarderShutdownTests {
    @Test func stopAnswersWhatIsInFlight() async throws {
        let fake = try FakeUpstream(group: TestGroup.shared)
        defer { fake.stop() }
        fake.set(.silent)
        let w = try PluginWorld(".:53 {\n forward . 127.0.0.1\n}\n", forwarding: true)
        var config = ForwardConfiguration(upstreams: [.init(host: "127.0.0.1", port: fake.port)])
        // Long enough that only stop() can end the question within the test's wait.
        config.attemptTimeout = .seconds(60)
        config.deadline = .seconds(60)
        let forwarder = try Forwarder(configuration: config, group: TestGroup.shared, logger: Logger(label: "test"))
        let dispatch = QueryDispatch(processor: w.processor, forwarder: forwarder)
        let handoff = try #require(w.forwarded("www.example.org.", .a))
        guard case .later(let reply) = dispatch.finish(handoff, on: TestGroup.shared.next()) else {
            Issue.record("an uncached name waits for its upstream")
            return
        }
        #expect(try await eventually { fake.queries(named: "www.example.org.") >= 1 }, "asked upstream")
        // Timed where the answer completes (on its event loop), not where this task resumes: on
        // two busy cores the test's own thread may wait its turn for a while.
        let answered = Mutex<ContinuousClock.Instant?>(nil)
        reply.whenComplete { _ in answered.withLock { $0 = .now } }
        let started = ContinuousClock.now
        forwarder.stop()
        let m = try Message(decoding: try await reply.get().bytes)
        #expect(m.rcode == .servFail)
        let at = try #require(answered.withLock { $0 })
        #expect(at - started < .seconds(30), "answered at stop, not at the 60 s deadline")
    }

    func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<250 where !condition() { try await Task.sleep(for: .milliseconds(20)) }
        return condition()
    }
}
