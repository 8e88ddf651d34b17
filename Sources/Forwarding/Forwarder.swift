import DNSResponder
import DNSWire
import Logging
import NIOCore
import Synchronization

/// Names outside our zones: the cache first, then one upstream question per distinct key however
/// many clients ask at once, tried on the next upstream on failure, bounded in number
/// (`maxConcurrent`), with loops recognised rather than followed. Replies are always built for
/// each client from its own query (ID, case, flags, size limit).
public final class Forwarder: Sendable {
    public struct Reply: Sendable {
        public var bytes: [UInt8]
        public var info: QueryProcessor.ReplyInfo
    }

    enum FlightResult: Sendable {
        case response(CachedResponse)
        case failed(String)
    }

    struct Flight {
        let promise: EventLoopPromise<FlightResult>
        let query: UpstreamQuery
        /// The upstream being asked now: the one to blame when the question comes back to us.
        var upstream: UpstreamState?
    }

    struct FlightTable {
        var flights: [CacheKey: Flight] = [:]
        /// The exact question bytes we sent → key: a query arriving with them is our own.
        var signatures: [[UInt8]: CacheKey] = [:]
    }

    public let configuration: ForwardConfiguration
    let processor: QueryProcessor
    let cache: ResponseCache
    let pools: [UpstreamPool]
    let group: EventLoopGroup
    let logger: Logger
    let table = Mutex(FlightTable())
    let healthTask = Mutex<RepeatedTask?>(nil)
    public let stats = ForwardStats()

    public init(configuration: ForwardConfiguration, processor: QueryProcessor, group: EventLoopGroup, logger: Logger) throws {
        self.configuration = configuration
        self.processor = processor
        self.group = group
        self.logger = logger
        cache = ResponseCache(size: configuration.cache.size, serveStale: configuration.cache.serveStale)
        // Longest domain first: the first pool whose domain encloses a name is the one to ask.
        var pools = try configuration.stubs.map { stub in UpstreamPool(domain: stub.domain, upstreams: try stub.upstreams.map(UpstreamState.init), forceTCP: stub.forceTCP || configuration.forceTCP) }
        pools.sort { $0.domain.wire.count > $1.domain.wire.count }
        pools.append(UpstreamPool(domain: .root, upstreams: try configuration.upstreams.map(UpstreamState.init), forceTCP: configuration.forceTCP))
        self.pools = pools
    }

    /// Every upstream, once, in configuration order (metrics and logs).
    var allUpstreams: [UpstreamState] { pools.reversed().flatMap(\.upstreams) }

    // MARK: - The query path

    /// The cache's answer when it holds a fresh one, decided on the event loop with no hop.
    /// Nil: call `resolve`.
    public func cachedReply(_ request: QueryProcessor.ForwardRequest) -> Reply? {
        stats.cacheRequests.add(1, ordering: .relaxed)
        let key = Self.key(request)
        let now = Self.now()
        guard case .fresh(let entry) = cache.lookup(key, now: now) else {
            stats.cacheMisses.add(1, ordering: .relaxed)
            // Every upstream known down: the answer (SERVFAIL, or stale) is known now, on the
            // caller's thread, with no flight, promise or hop. A flood of names for dead
            // upstreams then costs little more than the lookup that found them missing.
            let pool = pool(for: request), clock = NIODeadline.now().uptimeNanoseconds
            if request.header.recursionDesired, !pool.upstreams.isEmpty, !pool.upstreams.contains(where: { $0.usable(clock) }) {
                stats.healthCheckBroken.add(1, ordering: .relaxed)
                return render(.failed("every upstream is down"), for: request, now: now)
            }
            return nil
        }
        if entry.kind == .denial {
            stats.cacheHitsDenial.add(1, ordering: .relaxed)
        } else {
            stats.cacheHitsSuccess.add(1, ordering: .relaxed)
        }
        let hits = entry.hits.wrappingAdd(1, ordering: .relaxed).newValue
        let prefetchAt = configuration.cache.prefetchHits
        if prefetchAt > 0, hits >= prefetchAt, entry.remaining(now) <= max(1, entry.lifetime / 10) {
            prefetch(key)
        }
        return render(.response(entry), for: request, now: now)
    }

    /// Asks upstream (joining an identical question already in flight) and builds the reply.
    public func resolve(_ request: QueryProcessor.ForwardRequest, on loop: EventLoop) -> EventLoopFuture<Reply> {
        let key = Self.key(request)
        guard request.header.recursionDesired else {
            // RFC 1034 §4.3.1: no recursion asked for → our data and the cache only. The cache
            // missed, so: the CNAME chain alone for an ExternalName, REFUSED otherwise.
            var answer = request.prefix ?? Answer.error(.refused)
            answer.recursionAvailable = true
            return loop.makeSucceededFuture(reply(request, answer))
        }
        enum Join {
            case wait(EventLoopFuture<FlightResult>)
            case start(EventLoopPromise<FlightResult>, UpstreamQuery)
            case loop(UpstreamState?)
            case full
        }
        let maxConcurrent = configuration.maxConcurrent
        let join = table.withLock { t -> Join in
            if let own = t.signatures[request.questionBytes], let flight = t.flights[own],
               flight.query.id == request.header.id || flight.query.letters >= 10 {
                return .loop(flight.upstream)
            }
            if let flight = t.flights[key] { return .wait(flight.promise.futureResult) }
            guard t.flights.count < maxConcurrent else { return .full }
            let (promise, query) = Self.register(key, on: loop, in: &t)
            return .start(promise, query)
        }
        let result: EventLoopFuture<FlightResult>
        switch join {
        case .wait(let future):
            result = future.hop(to: loop)
        case .start(let promise, let query):
            fly(key, query, promise, pool: pool(for: request))
            result = promise.futureResult
        case .loop(let upstream):
            loopDetected(request, via: upstream)
            return loop.makeSucceededFuture(render(.failed("forwarding loop"), for: request, now: Self.now()))
        case .full:
            stats.maxConcurrentRejects.add(1, ordering: .relaxed)
            return loop.makeSucceededFuture(render(.failed("over --max-concurrent"), for: request, now: Self.now()))
        }
        return result.map { self.render($0, for: request, now: Self.now()) }
    }

    static func key(_ request: QueryProcessor.ForwardRequest) -> CacheKey {
        CacheKey(request.upstreamQuestion, dnssecOK: request.edns?.dnssecOK ?? false, checkingDisabled: request.header.checkingDisabled)
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    // MARK: - Replies

    func render(_ result: FlightResult, for request: QueryProcessor.ForwardRequest, now: UInt64) -> Reply {
        var entry: CachedResponse
        var staleTTL: UInt32?
        switch result {
        case .response(let e):
            entry = e
        case .failed:
            // RFC 8767: an expired answer, with TTL 30, beats SERVFAIL when upstreams fail.
            guard configuration.cache.serveStale != nil, case .stale(let e) = cache.lookup(Self.key(request), now: now) else {
                // Autopath: the bare name's existence is unknown, so no CNAME to it.
                if request.searchPlain != nil { return searchFailed(request) }
                var answer = request.prefix ?? Answer.error(.servFail)
                answer.rcode = .servFail
                answer.recursionAvailable = true
                return reply(request, answer)
            }
            stats.servedStale.add(1, ordering: .relaxed)
            entry = e
            staleTTL = 30
        }
        guard request.prefix != nil || request.rewrite != nil else {
            let bytes = entry.reply(to: request, processor: processor, now: now, staleTTL: staleTTL)
            return Reply(bytes: bytes, info: QueryProcessor.ReplyInfo(rcode: entry.rcode, question: request.question, zone: nil))
        }
        // A rewritten question: the records are decoded so that `reply` writes them back.
        var answer = request.prefix ?? Answer(rcode: .noError, authoritative: false)
        if let plain = request.searchPlain {
            // Autopath's last step: the bare name exists upstream → our CNAME to it, living no
            // longer than what it leads to; it does not → the asked name's own NXDOMAIN; the
            // upstream failed → SERVFAIL (the client tries its next search domain).
            guard let m = entry.decoded(now, staleTTL: staleTTL), m.rcode == .noError || m.rcode == .nxDomain else {
                return searchFailed(request)
            }
            guard m.rcode == .noError else {
                processor.searchCounters.miss()
                return reply(request, plain)
            }
            processor.searchCounters.hit(saving: 3)
            if !answer.answer.isEmpty, !answer.answer[0].isEmpty {
                answer.answer[0][0].ttl = Responder.cnameTTL(answer.answer[0][0].ttl, answers: m.answers, authority: m.authority)
            }
        }
        // An ExternalName: our CNAME chain, then what the target resolved to (D12, coredns-kubernetes §3.3).
        answer.recursionAvailable = true
        if let m = entry.decoded(now, staleTTL: staleTTL) {
            answer.rcode = m.rcode
            if !m.answers.isEmpty { answer.answer.append(m.answers) }
            answer.authority = m.authority.isEmpty ? [] : [m.authority]
            if request.prefix == nil, !m.additional.isEmpty { answer.additional = [m.additional] }
        } else {
            answer.rcode = .servFail
        }
        return reply(request, answer)
    }

    /// Autopath's upstream step failed: SERVFAIL, so the client tries its next search domain.
    func searchFailed(_ request: QueryProcessor.ForwardRequest) -> Reply {
        processor.searchCounters.miss()
        var failed = Answer.error(.servFail)
        failed.recursionAvailable = true
        return reply(request, failed)
    }

    func reply(_ request: QueryProcessor.ForwardRequest, _ answer: Answer) -> Reply {
        let (bytes, info) = processor.reply(to: request, with: answer)
        return Reply(bytes: bytes, info: info)
    }

    // MARK: - Upstream questions

    func pool(for name: DNSName) -> UpstreamPool {
        pools.first { name.isSubdomain(of: $0.domain) } ?? pools[pools.count - 1]
    }

    /// A rewritten name is asked of the upstreams of the name the client asked: its server
    /// block's `forward`, as in CoreDNS, where the rewrite happens inside that block.
    func pool(for request: QueryProcessor.ForwardRequest) -> UpstreamPool {
        pool(for: request.rewrite?.original ?? request.target)
    }

    private func prefetch(_ key: CacheKey) {
        let loop = group.next(), maxConcurrent = configuration.maxConcurrent
        let started = table.withLock { t -> (EventLoopPromise<FlightResult>, UpstreamQuery)? in
            guard t.flights[key] == nil, t.flights.count < maxConcurrent else { return nil }
            return Self.register(key, on: loop, in: &t)
        }
        guard let (promise, query) = started else { return }
        stats.prefetches.add(1, ordering: .relaxed)
        fly(key, query, promise, pool: pool(for: key.name))
    }

    /// A new flight for `key`, with the spelling that recognises it if it comes back to us.
    private static func register(_ key: CacheKey, on loop: EventLoop, in t: inout FlightTable) -> (EventLoopPromise<FlightResult>, UpstreamQuery) {
        let promise = loop.makePromise(of: FlightResult.self)
        let query = UpstreamQuery(key)
        t.flights[key] = Flight(promise: promise, query: query)
        if query.letters > 0 { t.signatures[query.signature] = key }
        return (promise, query)
    }

    /// Runs one upstream question to its end and publishes the result to everyone waiting.
    private func fly(_ key: CacheKey, _ query: UpstreamQuery, _ promise: EventLoopPromise<FlightResult>, pool: UpstreamPool) {
        let deadline = NIODeadline.now() + TimeAmount(configuration.deadline)
        let start = pool.upstreams.isEmpty ? 0 : Int.random(in: 0..<pool.upstreams.count)
        attempt(key, query, pool, start: start, tried: 0, deadline: deadline, lastError: "no upstream answered", on: promise.futureResult.eventLoop) { result in
            if case .response(let entry) = result { self.cache.insert(key, entry, now: Self.now()) }
            // The flight is answered by whoever takes it out of the table: here, or `stop()`.
            let mine = self.table.withLock { t -> Bool in
                guard let f = t.flights[key], f.promise.futureResult === promise.futureResult else { return false }
                t.flights[key] = nil
                t.signatures[query.signature] = nil
                return true
            }
            if mine { promise.succeed(result) }
        }
    }

    /// Up to three attempts over the usable upstreams, starting at a random one, within the
    /// deadline. A down upstream is skipped; when all are down the answer is SERVFAIL at once.
    private func attempt(_ key: CacheKey, _ query: UpstreamQuery, _ pool: UpstreamPool, start: Int, tried: Int, deadline: NIODeadline,
                         lastError: String, on loop: EventLoop, done: @escaping @Sendable (FlightResult) -> Void) {
        let current = NIODeadline.now()
        let now = current.uptimeNanoseconds
        let left = deadline - current
        let usable = pool.upstreams.indices.map { (start + tried + $0) % pool.upstreams.count }.first { pool.upstreams[$0].usable(now) }
        // One upstream: asked twice (a lost datagram); two: each once; more: three of them.
        let attempts = min(3, max(2, pool.upstreams.count))
        guard tried < attempts, (left > .milliseconds(10)), let index = usable else {
            if tried == 0 && !pool.upstreams.isEmpty { stats.healthCheckBroken.add(1, ordering: .relaxed) }
            return done(.failed(tried == 0 ? "every upstream is down" : lastError))
        }
        let upstream = pool.upstreams[index]
        table.withLock { $0.flights[key]?.upstream = upstream }
        let timeout = min(TimeAmount(configuration.attemptTimeout), left)
        exchange(query, upstream, tcp: pool.forceTCP, timeout: timeout, on: loop).whenComplete { result in
            switch result {
            case .success(let message):
                switch message.rcode {
                case .servFail, .refused, .notImp, .formErr:
                    // An answer, so the upstream is alive, but not one to pass on: ask the next.
                    self.attempt(key, query, pool, start: start, tried: tried + 1, deadline: deadline,
                                 lastError: "\(upstream.label) answered \(message.rcode)", on: loop, done: done)
                default:
                    done(.response(CachedResponse(message, question: key.question, limits: self.configuration.cache, now: Self.now())))
                }
            case .failure(let error):
                self.attempt(key, query, pool, start: start, tried: tried + 1, deadline: deadline,
                             lastError: "\(upstream.label): \(error)", on: loop, done: done)
            }
        }
    }

    /// One exchange with health and metrics kept; a truncated UDP reply is asked again over TCP.
    private func exchange(_ query: UpstreamQuery, _ upstream: UpstreamState, tcp: Bool, timeout: TimeAmount, on loop: EventLoop) -> EventLoopFuture<Message> {
        let started = Self.now()
        upstream.requests.add(1, ordering: .relaxed)
        let stats = self.stats, logger = self.logger, maxFails = configuration.maxFails
        return UpstreamExchange.run(query, to: upstream.address, tcp: tcp, timeout: timeout, on: loop) { stats.ignored($0) }
            .flatMapError { error in
                if upstream.failed(maxFails: maxFails) {
                    logger.warning("upstream marked down", metadata: ["upstream": "\(upstream.label)", "error": "\(error)"])
                }
                return loop.makeFailedFuture(error)
            }
            .flatMap { message in
                if upstream.answered() {
                    logger.notice("upstream answers again", metadata: ["upstream": "\(upstream.label)"])
                }
                upstream.record(message.rcode, nanos: Self.now() - started)
                guard message.header.truncated, !tcp else { return loop.makeSucceededFuture(message) }
                stats.truncatedRetries.add(1, ordering: .relaxed)
                return self.exchange(query, upstream, tcp: true, timeout: timeout, on: loop)
            }
    }

    // MARK: - Loops and health

    private func loopDetected(_ request: QueryProcessor.ForwardRequest, via upstream: UpstreamState?) {
        stats.loops.add(1, ordering: .relaxed)
        let label = upstream?.label ?? "?"
        if let upstream {
            let until = Self.now() + 30_000_000_000
            if upstream.loopingUntil.exchange(until, ordering: .relaxed) < Self.now() {
                logger.error("forwarding loop: a query sent to an upstream came back to this server; not using that upstream for 30 s",
                             metadata: ["upstream": "\(label)", "name": "\(request.target)"])
            }
        }
    }

    /// Probes down upstreams with `. IN NS` until one answers (any well-formed reply).
    public func start() {
        let interval = TimeAmount(configuration.healthCheckInterval)
        let task = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            for pool in pools.reversed() {
                for upstream in pool.upstreams where upstream.isDown.load(ordering: .relaxed) {
                    guard !upstream.probing.exchange(true, ordering: .relaxed) else { continue }
                    let probe = UpstreamQuery(CacheKey(Question(name: .root, type: .ns), dnssecOK: false, checkingDisabled: false))
                    let loop = group.next()
                    UpstreamExchange.run(probe, to: upstream.address, tcp: pool.forceTCP, timeout: min(TimeAmount(configuration.attemptTimeout), .seconds(1)), on: loop) { _ in }
                        .whenComplete { result in
                            upstream.probing.store(false, ordering: .relaxed)
                            switch result {
                            case .success:
                                if upstream.answered() { self.logger.notice("upstream answers again", metadata: ["upstream": "\(upstream.label)"]) }
                            case .failure:
                                upstream.healthCheckFailures.add(1, ordering: .relaxed)
                            }
                        }
                }
            }
        }
        healthTask.withLock { $0 = task }
    }

    /// Stops the health probes and answers every question still in flight (SERVFAIL, or stale),
    /// so nothing waits on an upstream past shutdown and no flight's callbacks keep this
    /// forwarder alive (a flight and its waiters hold it; found by `make leakcheck`).
    public func stop() {
        healthTask.withLock { $0?.cancel(); $0 = nil }
        let pending = table.withLock { t -> [Flight] in
            let flights = Array(t.flights.values)
            t = FlightTable()
            return flights
        }
        for flight in pending { flight.promise.succeed(.failed("shutting down")) }
    }
}

extension TimeAmount {
    init(_ d: Duration) {
        let (s, atto) = d.components
        self = .nanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
    }
}
