import DNSWire
import NIOCore
import Synchronization

/// One upstream's address, health and counts. Health follows real traffic: `maxFails` failed
/// attempts in a row (timeouts, network errors; a SERVFAIL is an answer, not a failure) mark it
/// down, then only health checks reach it until one is answered (coredns#2427: never re-checked).
final class UpstreamState: Sendable {
    let upstream: ForwardConfiguration.Upstream
    let address: SocketAddress
    /// The `to` label: `ADDR:PORT`.
    let label: String
    private let failures = Atomic<Int>(0)
    let isDown = Atomic<Bool>(false)
    /// Until when (monotonic ns) it is skipped because a query sent to it came back to us.
    let loopingUntil = Atomic<UInt64>(0)
    let probing = Atomic<Bool>(false)

    let requests = Atomic<Int>(0)
    /// Replies by RCODE (0…15; 16 holds the rest).
    let responses = Mutex([Int](repeating: 0, count: 17))
    let healthCheckFailures = Atomic<Int>(0)
    /// Attempt durations by bucket (`durationBounds`), and their sum in ns.
    let durations = Mutex((buckets: [Int](repeating: 0, count: UpstreamState.durationBoundsNanos.count), sum: 0))

    /// CoreDNS's forward buckets (`coredns_forward_request_duration_seconds`): 0.25 ms … 8 s.
    static let durationBoundsNanos: [Int] = (0..<16).map { 250_000 << $0 }

    init(_ upstream: ForwardConfiguration.Upstream) throws {
        self.upstream = upstream
        address = try SocketAddress(ipAddress: upstream.host, port: upstream.port)
        label = upstream.description
    }

    func usable(_ now: UInt64) -> Bool {
        !isDown.load(ordering: .relaxed) && loopingUntil.load(ordering: .relaxed) <= now
    }

    /// True when this failure marked it down.
    func failed(maxFails: Int) -> Bool {
        let n = failures.wrappingAdd(1, ordering: .relaxed).newValue
        return n >= maxFails && isDown.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
    }

    /// True when it was down.
    func answered() -> Bool {
        failures.store(0, ordering: .relaxed)
        return isDown.exchange(false, ordering: .relaxed)
    }

    func record(_ rcode: ResponseCode, nanos: UInt64) {
        responses.withLock { $0[Int(min(rcode.rawValue, 16))] += 1 }
        let bucket = Self.durationBoundsNanos.firstIndex { Int(nanos) <= $0 }
        durations.withLock { d in
            d.sum += Int(nanos)
            if let bucket { d.buckets[bucket] += 1 }
        }
    }
}

/// The upstreams for one domain: `.` for the defaults, or a stub domain.
struct UpstreamPool: Sendable {
    let domain: DNSName
    let upstreams: [UpstreamState]
    /// TCP only for these upstreams (`force_tcp`).
    let forceTCP: Bool
}
