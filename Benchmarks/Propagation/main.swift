import DNSWire
import FakeKubeAPI
import Foundation
import Synchronization

// The index at cluster scale (issue 11), against the fake API server and the release binary:
//  - first sync: wall time, server CPU, resident memory after it;
//  - propagation: EndpointSlice edits of headless Services 200 ms apart, each timed from the
//    write to the first answer that shows it; server CPU spent on them; memory after;
//  - 1,000 edits back to back: memory after (must stay within 10 % of the first sync's);
//  - churn: 200 slice edits/s for 30 s while a marker edit's latency is measured every 250 ms;
//  - forced relists (410): peak memory against the first sync's, a known name checked
//    throughout, time until an edit made during the relist shows;
//  - the same world as a `kubectl get -o yaml` dump served with --zones: time until served.
// Usage: PropagationBenchmark [SERVICES] [ENDPOINTS_PER_SERVICE] [EDITS] [CHURN_SECONDS]
// (BENCH_LOG_LEVEL=info: the server logs at that level instead of warning)

let args = CommandLine.arguments
let services = args.count > 1 ? Int(args[1])! : 10_000
let perService = args.count > 2 ? Int(args[2])! : 10
let editCount = args.count > 3 ? Int(args[3])! : 50
let churnSeconds = args.count > 4 ? Int(args[4])! : 30
let binary = ProcessInfo.processInfo.environment["CLUSTERDNS_BIN"] ?? ".build/release/clusterdns"
let namespaces = 100

// MARK: the world

/// Service i is `svc<i>.ns<i % 100>`, headless when i % 10 == 0, else ClusterIP ip(i); its one
/// slice holds PER endpoints.
struct World: Sendable {
    let services: Int
    let perService: Int
    let namespaces: Int

    func ip(_ n: Int) -> String { "10.\(96 + n / 65536 % 32).\(n / 256 % 256).\(n % 256)" }
    func podIP(_ n: Int) -> String { "10.\(128 + n / 65536 % 64).\(n / 256 % 256).\(n % 256)" }
    func ns(_ i: Int) -> String { "ns\(i % namespaces)" }
    func name(_ i: Int) -> String { "svc\(i).\(ns(i)).svc.cluster.local." }
        func serviceObject(_ i: Int) -> [String: Any] {
        let headless = i % 10 == 0
        return ["metadata": ["name": "svc\(i)", "namespace": ns(i)],
                "spec": ["clusterIP": headless ? "None" : ip(i), "ports": [["name": "http", "port": 80, "protocol": "TCP"]]]]
    }

    func sliceObject(_ i: Int, addresses: [String]) -> [String: Any] {
        ["metadata": ["name": "svc\(i)-x", "namespace": ns(i), "labels": ["kubernetes.io/service-name": "svc\(i)"]],
         "addressType": "IPv4", "endpoints": addresses.map { ["addresses": [$0], "conditions": ["ready": true]] },
         "ports": [["name": "http", "port": 80, "protocol": "TCP"]]]
    }

    func addresses(_ i: Int) -> [String] { (0..<perService).map { podIP(i * perService + $0) } }
}
let world = World(services: services, perService: perService, namespaces: namespaces)
func ip(_ n: Int) -> String { world.ip(n) }
func ns(_ i: Int) -> String { world.ns(i) }
func name(_ i: Int) -> String { world.name(i) }
func serviceObject(_ i: Int) -> [String: Any] { world.serviceObject(i) }
func sliceObject(_ i: Int, addresses: [String]) -> [String: Any] { world.sliceObject(i, addresses: addresses) }
func addresses(_ i: Int) -> [String] { world.addresses(i) }

let api = try FakeKubeAPI.start()
for n in 0..<namespaces { api.apply(.namespaces, ["metadata": ["name": "ns\(n)"]]) }
for i in 0..<services {
    api.apply(.services, serviceObject(i))
    api.apply(.endpointslices, sliceObject(i, addresses: addresses(i)))
}

// MARK: measuring the server

struct ProcessStats {
    let pid: Int32
    var rssMB: Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let kb = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
        return kb / 1024
    }
    /// utime + stime of every thread, in seconds.
    var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the command: state is index 0, utime 11, stime 12.
        return (Double(fields[11]) ?? 0) / 100 + (Double(fields[12]) ?? 0) / 100
    }
}

func start(_ arguments: [String], port: Int, metricsPort: Int? = nil) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--health-listen", "off", "--ready-listen", "off",
                   "--metrics-listen", metricsPort.map { "127.0.0.1:\($0)" } ?? "off", "--lameduck", "0", "--log-level", ProcessInfo.processInfo.environment["BENCH_LOG_LEVEL"] ?? "warning",
                   "--upstream", "off"] + arguments
    try p.run()
    return p
}

final class Resolver {
    let fd: Int32
    var addr = sockaddr_in()
    init(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    }
    deinit { close(fd) }

    /// The A records of `name`, nil on no answer. Replies to earlier timed-out queries are
    /// skipped by ID.
    func addresses(_ name: String) -> [String]? {
        let id = UInt16.random(in: 0...65535)
        var w = MessageWriter(limit: 512, header: { var h = Header(); h.id = id; h.recursionDesired = true; return h }())
        w.appendQuestion(Question(name: try! DNSName(parsing: name), type: .a))
        let bytes = w.finish()
        _ = withUnsafePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            guard n > 0 else { return nil }
            guard let m = try? Message(decoding: Array(buf[0..<n])) else { return nil }
            if m.header.id == id { return m.answers.map(\.rdataText) }
        }
    }
}

let clock = ContinuousClock()
func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
func percentiles(_ values: [Duration]) -> String {
    let v = values.sorted()
    guard !v.isEmpty else { return "none" }
    return "p50 \(f(ms(v[v.count / 2]))) ms, p99 \(f(ms(v[min(v.count - 1, v.count * 99 / 100)]))) ms, max \(f(ms(v.last!))) ms (n=\(v.count))"
}

/// Waits until `check` holds, polling; the time from `since`.
func waitFor(since: ContinuousClock.Instant, limit: Duration = .seconds(60), _ check: () -> Bool) -> Duration? {
    while !check() {
        if clock.now - since > limit { return nil }
    }
    return clock.now - since
}

// MARK: 1. first sync

let kubeconfig = try api.writeKubeconfig()
let port = Int.random(in: 30000...60000)
let metricsPort = port + 2
let server = try start(["--kubeconfig", kubeconfig], port: port, metricsPort: metricsPort)

/// The server's own view of propagation (arrival of a watch event → snapshot published), from
/// its `clusterdns_watch_propagation_seconds` histogram: the bucket bounds holding p50 and p99
/// of the events since `since`. It leaves out the fake API's own time, which the client-side
/// figures include.
func serverPropagation(since: [Double: Double]) -> (String, [Double: Double]) {
    let curl = Process()
    curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    curl.arguments = ["-s", "http://127.0.0.1:\(metricsPort)/metrics"]
    let pipe = Pipe()
    curl.standardOutput = pipe
    guard (try? curl.run()) != nil else { return ("no /metrics", since) }
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    curl.waitUntilExit()
    var buckets: [Double: Double] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("clusterdns_watch_propagation_seconds_bucket") {
        guard let le = line.split(separator: "\"").dropFirst().first, let count = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
        buckets[le == "+Inf" ? .infinity : Double(le) ?? .infinity] = count
    }
    let delta = buckets.mapValues { $0 }.merging(since) { now, before in now - before }
    let bounds = delta.keys.sorted()
    guard let total = bounds.last.flatMap({ delta[$0] }), total > 0 else { return ("no events", buckets) }
    func quantile(_ q: Double) -> String {
        let bound = bounds.first { delta[$0]! >= q * total } ?? .infinity
        return bound.isInfinite ? "> 5 s" : "≤ \(f(bound * 1000, bound < 0.001 ? 2 : 1)) ms"
    }
    return ("p50 \(quantile(0.5)), p99 \(quantile(0.99)) (\(Int(total)) events)", buckets)
}
defer { server.terminate(); server.waitUntilExit(); api.stop() }
let stats = ProcessStats(pid: server.processIdentifier)
let dns = Resolver(port: port)
let t0 = clock.now
let lastName = "svc\(services - 1).\(ns(services - 1)).svc.cluster.local."
while dns.addresses(lastName)?.isEmpty != false {
    guard server.isRunning, clock.now - t0 < .seconds(600) else { print("server did not sync"); exit(1) }
    usleep(20_000)
}
let syncWall = clock.now - t0
let syncCPU = stats.cpuSeconds
sleep(2)
let rssSynced = stats.rssMB
print("\(services) Services × \(perService) endpoints (\(services * perService) endpoints, \(namespaces) namespaces)")
print("first sync: visible after \(f(ms(syncWall), 0)) ms, server CPU \(f(syncCPU, 2)) s, resident \(f(rssSynced, 0)) MB")

// MARK: 2. propagation of headless slice edits, 200 ms apart

var fresh = 0
@MainActor func freshIP() -> String { fresh += 1; return "10.250.\(fresh / 256 % 256).\(fresh % 256)" }
var current: [Int: [String]] = [:]
@MainActor func editSlice(_ i: Int) -> String {
    var a = current[i] ?? addresses(i)
    let new = freshIP()
    a[fresh % a.count] = new
    current[i] = a
    api.apply(.endpointslices, sliceObject(i, addresses: a))
    return new
}
let headless = stride(from: 0, to: services, by: 10).map { $0 }
var latencies: [Duration] = []
var (_, histogram) = serverPropagation(since: [:])
let cpuBefore = stats.cpuSeconds
for e in 0..<editCount {
    let i = headless[(e * 7919) % headless.count]
    let t = clock.now
    let new = editSlice(i)
    guard let d = waitFor(since: t, { dns.addresses(name(i))?.contains(new) == true }) else { print("edit \(e) not seen after 60 s"); exit(1) }
    latencies.append(d)
    usleep(200_000)
}
let editCPU = stats.cpuSeconds - cpuBefore
print("propagation, \(editCount) headless slice edits 200 ms apart: \(percentiles(latencies)); server CPU \(f(editCPU, 2)) s (\(f(editCPU / Double(editCount) * 1000, 2)) ms per edit, probes included)")
let (edits, afterEdits) = serverPropagation(since: histogram)
histogram = afterEdits
print("  server-side (watch event arrival → snapshot published): \(edits)")
print("resident after the edits: \(f(stats.rssMB, 0)) MB")

// MARK: 3. 1,000 edits back to back

var last = ""
var lastService = 0
for e in 0..<1000 {
    lastService = headless[(e * 104729) % headless.count]
    last = editSlice(lastService)
}
let tBurst = clock.now
guard waitFor(since: tBurst, { dns.addresses(name(lastService))?.contains(last) == true }) != nil else { print("burst not seen"); exit(1) }
sleep(3)
let rssBurst = stats.rssMB
print("after 1,000 more edits: resident \(f(rssBurst, 0)) MB (\(f((rssBurst / rssSynced - 1) * 100, 1)) % over the first sync's)")

// MARK: 4. churn: 200 events/s for CHURN_SECONDS, marker edits timed meanwhile

final class ChurnState: Sendable {
    let stop = Mutex(false)
    let count = Mutex(0)
}
let churn = ChurnState()
let churnThread = Thread { [world, api, churn, clock] in
    let services = world.services
    var k = 0
    let begin = clock.now
    while !churn.stop.withLock({ $0 }) {
        k += 1
        let i = 1 + (k * 31337) % (services - 1)
        guard i % 10 != 0 else { continue }  // headless ones are the markers'
        var a = world.addresses(i)
        a[k % a.count] = "10.251.\(k / 256 % 256).\(k % 256)"
        api.apply(.endpointslices, world.sliceObject(i, addresses: a))
        churn.count.withLock { $0 += 1 }
        // Paced: event k is due at k × 5 ms.
        let due = begin + .milliseconds(5 * churn.count.withLock { $0 })
        let now = clock.now
        if due > now { Thread.sleep(forTimeInterval: Double((due - now).components.attoseconds) / 1e18) }
    }
}
(_, histogram) = serverPropagation(since: [:])
let churnCPUBefore = stats.cpuSeconds
let churnStart = clock.now
churnThread.start()
var markerLatencies: [Duration] = []
var m = 0
while clock.now - churnStart < .seconds(Int64(churnSeconds)) {
    let i = headless[(m * 17) % headless.count]
    m += 1
    let t = clock.now
    let new = editSlice(i)
    guard let d = waitFor(since: t, { dns.addresses(name(i))?.contains(new) == true }) else { print("marker not seen after 60 s"); exit(1) }
    markerLatencies.append(d)
    usleep(250_000)
}
churn.stop.withLock { $0 = true }
let churnElapsed = clock.now - churnStart
let churned = churn.count.withLock { $0 }
let churnCPU = stats.cpuSeconds - churnCPUBefore
let (churnServer, _) = serverPropagation(since: histogram)
print("churn, server-side propagation of every event: \(churnServer)")
print("churn: \(churned) slice edits in \(f(ms(churnElapsed) / 1000, 1)) s (\(f(Double(churned) / (ms(churnElapsed) / 1000), 0))/s); marker edits: \(percentiles(markerLatencies)); server CPU \(f(churnCPU, 2)) s (\(f(churnCPU / Double(max(1, churned)) * 1000, 3)) ms per event)")

// MARK: 5. forced relists

for round in 1...2 {
    sleep(2)
    let before = stats.rssMB
    var peak = before
    api.compact()
    api.dropWatches()
    let marker = "10.201.0.\(round)"
    api.apply(.services, ["metadata": ["name": "svc1", "namespace": ns(1)], "spec": ["clusterIP": marker, "ports": [["name": "http", "port": 80]]]])
    let t = clock.now
    var wrong = 0
    var checks = 0
    let steady = name(2)
    while dns.addresses(name(1))?.first != marker {
        peak = max(peak, stats.rssMB)
        checks += 1
        if dns.addresses(steady) != [ip(2)] { wrong += 1 }
        if clock.now - t > .seconds(300) { print("relist not seen"); exit(1) }
    }
    let visible = clock.now - t
    for _ in 0..<100 {
        peak = max(peak, stats.rssMB)
        checks += 1
        if dns.addresses(steady) != [ip(2)] { wrong += 1 }
        usleep(20_000)
    }
    sleep(2)
    print("relist \(round): edit visible after \(f(ms(visible), 0)) ms; resident before \(f(before, 0)) MB, peak \(f(peak, 0)) MB (\(f(peak / rssSynced, 2))× the first sync's), after \(f(stats.rssMB, 0)) MB; \(wrong) wrong answers in \(checks) checks of a steady name")
}

// MARK: 6. the same world as a kubectl dump, served with --zones

func yaml(_ value: Any, indent: Int) -> String {
    let pad = String(repeating: " ", count: indent)
    switch value {
    case let d as [String: Any]:
        return d.keys.sorted().map { k -> String in
            let v = d[k]!
            if let s = v as? [String: Any], !s.isEmpty { return "\(pad)\(k):\n" + yaml(s, indent: indent + 2) }
            if let a = v as? [Any], !a.isEmpty { return "\(pad)\(k):\n" + yaml(a, indent: indent) }
            return "\(pad)\(k): \(scalar(v))\n"
        }.joined()
    case let a as [Any]:
        return a.map { item -> String in
            let body = yaml(item, indent: indent + 2)
            return "\(pad)- " + body.dropFirst(indent + 2)
        }.joined()
    default:
        return "\(pad)\(scalar(value))\n"
    }
}
func scalar(_ v: Any) -> String {
    switch v {
    case let s as String: return "\"\(s)\""
    case let d as [String: Any] where d.isEmpty: return "{}"
    case let a as [Any] where a.isEmpty: return "[]"
    default: return "\(v)"
    }
}
let dumpDir = FileManager.default.temporaryDirectory.appendingPathComponent("clusterdns-dump-\(UUID().uuidString)").path
try FileManager.default.createDirectory(atPath: dumpDir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: dumpDir) }
var items: [[String: Any]] = (0..<namespaces).map { ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "ns\($0)"]] }
for i in 0..<services {
    var s = serviceObject(i); s["apiVersion"] = "v1"; s["kind"] = "Service"
    var e = sliceObject(i, addresses: addresses(i)); e["apiVersion"] = "discovery.k8s.io/v1"; e["kind"] = "EndpointSlice"
    items += [s, e]
}
let text = "apiVersion: v1\nkind: List\nitems:\n" + yaml(items, indent: 0)
try text.write(toFile: dumpDir + "/dump.yaml", atomically: true, encoding: .utf8)
let zonesPort = port + 1
let t6 = clock.now
let zonesServer = try start(["--zones", dumpDir], port: zonesPort)
defer { zonesServer.terminate(); zonesServer.waitUntilExit() }
let zonesDNS = Resolver(port: zonesPort)
while zonesDNS.addresses(lastName)?.isEmpty != false {
    guard zonesServer.isRunning, clock.now - t6 < .seconds(600) else { print("zones server did not serve"); exit(1) }
    usleep(20_000)
}
let zonesStats = ProcessStats(pid: zonesServer.processIdentifier)
print("kubectl-style dump (\(f(Double(text.utf8.count) / 1e6, 1)) MB YAML) with --zones: served after \(f(ms(clock.now - t6), 0)) ms, server CPU \(f(zonesStats.cpuSeconds, 2)) s, resident \(f(zonesStats.rssMB, 0)) MB")
