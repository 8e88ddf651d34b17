import DNSWire
import Logging
import NIOCore
import Synchronization

/// Names outside our zones: the cache first, then one upstream question per distinct key however
/// many clients ask at once, tried on the next upstream on failure, bounded in number
/// (`maxConcurrent`), with loops recognised rather than followed. It answers with an
/// `UpstreamAnswer`; the reply to each client is built from that by whoever holds the client's
/// query (`QueryDispatch` in DNSServer), so nothing here knows our zones or the responder.
public final class Forwarder: Sendable {
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
    let cache: ResponseCache
    let pools: [UpstreamPool]
    let group: EventLoopGroup
    let logger: Logger
    let table = Mutex(FlightTable())
    let healthTask = Mutex<RepeatedTask?>(nil)
    public let stats = ForwardStats()
    let clock: @Sendable () -> UInt64

    /// `clock` is the cache's (`now()`); tests pass one they move by hand.
    public init(configuration: ForwardConfiguration, group: EventLoopGroup, logger: Logger,
                clock: @escaping @Sendable () -> UInt64 = Forwarder.uptime) throws {
        self.configuration = configuration
        self.clock = clock
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

    /// The cache's answer when it holds a fresh one, decided on the event loop with no hop; also
    /// the answer when every upstream is known down. Nil: call `resolve`.
    public func cached(_ request: UpstreamRequest) -> UpstreamAnswer? {
        stats.cacheRequests.add(1, ordering: .relaxed)
        let key = Self.key(request)
        let now = self.now()
        guard case .fresh(let entry) = cache.lookup(key, now: now) else {
            stats.cacheMisses.add(1, ordering: .relaxed)
            // Every upstream known down: the answer (SERVFAIL, or stale) is known now, on the
            // caller's thread, with no flight, promise or hop. A flood of names for dead
            // upstreams then costs little more than the lookup that found them missing.
            let pool = pool(for: request.routingName), clock = NIODeadline.now().uptimeNanoseconds
            if request.header.recursionDesired, !pool.upstreams.isEmpty, !pool.upstreams.contains(where: { $0.usable(clock) }) {
                stats.healthCheckBroken.add(1, ordering: .relaxed)
                return settle(.failed("every upstream is down"), key, now: now)
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
        return .response(entry, staleTTL: nil)
    }

    /// Asks upstream (joining an identical question already in flight). Only for questions that
    /// want recursion (RD=1): without it the cache is all a client may have (RFC 1034 §4.3.1).
    public func resolve(_ request: UpstreamRequest, on loop: EventLoop) -> EventLoopFuture<UpstreamAnswer> {
        let key = Self.key(request)
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
            fly(key, query, promise, pool: pool(for: request.routingName))
            result = promise.futureResult
        case .loop(let upstream):
            loopDetected(request, via: upstream)
            return loop.makeSucceededFuture(settle(.failed("forwarding loop"), key, now: now()))
        case .full:
            stats.maxConcurrentRejects.add(1, ordering: .relaxed)
            return loop.makeSucceededFuture(settle(.failed("over --max-concurrent"), key, now: now()))
        }
        return result.map { self.settle($0, key, now: self.now()) }
    }

    static func key(_ request: UpstreamRequest) -> CacheKey {
        CacheKey(request.question, dnssecOK: request.dnssecOK, checkingDisabled: request.header.checkingDisabled)
    }

    /// The cache's clock, in nanoseconds: what entries are stored at, aged and expired by
    /// (`CachedResponse.reply(now:)`). Monotonic uptime unless a test injects its own.
    public func now() -> UInt64 { clock() }

    /// Monotonic nanoseconds since boot: upstream latencies and loop back-offs.
    public static func uptime() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// A flight's result as the client gets it: a failure becomes an expired answer, with TTL
    /// 30, when serve-stale is on and one is kept (RFC 8767: stale beats SERVFAIL).
    func settle(_ result: FlightResult, _ key: CacheKey, now: UInt64) -> UpstreamAnswer {
        switch result {
        case .response(let entry):
            return .response(entry, staleTTL: nil)
        case .failed(let reason):
            guard configuration.cache.serveStale != nil, case .stale(let entry) = cache.lookup(key, now: now) else { return .failed(reason) }
            stats.servedStale.add(1, ordering: .relaxed)
            return .response(entry, staleTTL: 30)
        }
    }

    // MARK: - Upstream questions

    func pool(for name: DNSName) -> UpstreamPool {
        pools.first { name.isSubdomain(of: $0.domain) } ?? pools[pools.count - 1]
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
            if case .response(let entry) = result { self.cache.insert(key, entry, now: self.now()) }
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
                    done(.response(CachedResponse(message, question: key.question, limits: self.configuration.cache, now: self.now())))
                }
            case .failure(let error):
                self.attempt(key, query, pool, start: start, tried: tried + 1, deadline: deadline,
                             lastError: "\(upstream.label): \(error)", on: loop, done: done)
            }
        }
    }

    /// One exchange with health and metrics kept; a truncated UDP reply is asked again over TCP.
    private func exchange(_ query: UpstreamQuery, _ upstream: UpstreamState, tcp: Bool, timeout: TimeAmount, on loop: EventLoop) -> EventLoopFuture<Message> {
        let started = Self.uptime()
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
                upstream.record(message.rcode, nanos: Self.uptime() - started)
                guard message.header.truncated, !tcp else { return loop.makeSucceededFuture(message) }
                stats.truncatedRetries.add(1, ordering: .relaxed)
                return self.exchange(query, upstream, tcp: true, timeout: timeout, on: loop)
            }
    }

    // MARK: - Loops and health

    private func loopDetected(_ request: UpstreamRequest, via upstream: UpstreamState?) {
        stats.loops.add(1, ordering: .relaxed)
        let label = upstream?.label ?? "?"
        if let upstream {
            let until = Self.uptime() + 30_000_000_000
            if upstream.loopingUntil.exchange(until, ordering: .relaxed) < Self.uptime() {
                logger.error("forwarding loop: a query sent to an upstream came back to this server; not using that upstream for 30 s",
                             metadata: ["upstream": "\(label)", "name": "\(request.question.name)"])
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
