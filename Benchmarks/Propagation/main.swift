import DNSWire
import FakeKubeAPI
import Foundation

// Issue 4's two numbers against the fake API server and the release binary:
//  - propagation: a watch event sent → the first query that sees it (p50/p99 over ROUNDS edits)
//  - memory: resident size after the first sync, and the peak while a 410 forces a full relist.
// Usage: PropagationBenchmark [SERVICES] [ENDPOINTS_PER_SERVICE] [ROUNDS]

let args = CommandLine.arguments
let services = args.count > 1 ? Int(args[1])! : 10_000
let perService = args.count > 2 ? Int(args[2])! : 10
let rounds = args.count > 3 ? Int(args[3])! : 100
let binary = ProcessInfo.processInfo.environment["CLUSTERDNS_BIN"] ?? ".build/release/clusterdns"

func ip(_ n: Int) -> String { "10.\(96 + n / 65536 % 32).\(n / 256 % 256).\(n % 256)" }
func podIP(_ n: Int) -> String { "10.\(128 + n / 65536 % 64).\(n / 256 % 256).\(n % 256)" }

let api = try FakeKubeAPI.start()
let namespaces = 100
for n in 0..<namespaces { api.apply(.namespaces, ["metadata": ["name": "ns\(n)"]]) }
var endpoint = 0
for i in 0..<services {
    let ns = "ns\(i % namespaces)"
    let headless = i % 10 == 0
    api.apply(.services, ["metadata": ["name": "svc\(i)", "namespace": ns],
                          "spec": ["clusterIP": headless ? "None" : ip(i), "ports": [["name": "http", "port": 80, "protocol": "TCP"]]]])
    var eps: [[String: Any]] = []
    for _ in 0..<perService {
        eps.append(["addresses": [podIP(endpoint)], "conditions": ["ready": true]])
        endpoint += 1
    }
    api.apply(.endpointslices, ["metadata": ["name": "svc\(i)-x", "namespace": ns, "labels": ["kubernetes.io/service-name": "svc\(i)"]],
                                "addressType": "IPv4", "endpoints": eps, "ports": [["name": "http", "port": 80, "protocol": "TCP"]]])
}
let kubeconfig = try api.writeKubeconfig()
let port = Int.random(in: 30000...60000)
let p = Process()
p.executableURL = URL(fileURLWithPath: binary)
p.arguments = ["serve", "--kubeconfig", kubeconfig, "--listen", "127.0.0.1:\(port)", "--health-listen", "off",
               "--ready-listen", "off", "--metrics-listen", "off", "--lameduck", "0", "--log-level", "warning"]
try p.run()
defer { p.terminate(); p.waitUntilExit(); api.stop() }

func rssMB(_ pid: Int32) -> Double {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let kb = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
    return kb / 1024
}

func query(_ name: String) -> Message? {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var tv = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    var w = MessageWriter(limit: 512, header: { var h = Header(); h.id = UInt16.random(in: 0...65535); h.recursionDesired = true; return h }())
    w.appendQuestion(Question(name: try! DNSName(parsing: name), type: .a))
    let bytes = w.finish()
    _ = withUnsafePointer(to: &addr) { a in
        a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = recv(fd, &buf, buf.count, 0)
    return n > 0 ? try? Message(decoding: Array(buf[0..<n])) : nil
}

let clock = ContinuousClock()
let start = clock.now
while query("svc1.ns1.svc.cluster.local.")?.answers.first.map({ $0.rdataText == ip(1) }) != true {
    guard p.isRunning, clock.now - start < .seconds(600) else { print("server did not sync"); exit(1) }
    usleep(50_000)
}
let synced = clock.now - start
sleep(2)
let steady = rssMB(p.processIdentifier)
print("\(services) Services, \(endpoint) endpoints: first sync \(synced), resident \(String(format: "%.0f", steady)) MB")

var latencies: [Duration] = []
for r in 0..<rounds {
    let i = (r * 7919) % services
    if i % 10 == 0 { continue }
    let newIP = "10.200.\(r / 256).\(r % 256)"
    let name = "svc\(i).ns\(i % namespaces).svc.cluster.local."
    let t0 = clock.now
    api.apply(.services, ["metadata": ["name": "svc\(i)", "namespace": "ns\(i % namespaces)"],
                          "spec": ["clusterIP": newIP, "ports": [["name": "http", "port": 80, "protocol": "TCP"]]]])
    while query(name)?.answers.first?.rdataText != newIP {
        if clock.now - t0 > .seconds(30) { print("edit \(r) not seen after 30 s"); exit(1) }
    }
    latencies.append(clock.now - t0)
}
latencies.sort()
func ms(_ d: Duration) -> String { String(format: "%.1f ms", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
print("propagation over \(latencies.count) edits: p50 \(ms(latencies[latencies.count / 2])), p99 \(ms(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])), max \(ms(latencies.last!))")

// Full relists: history compacted, watches dropped; the resumed watch gets 410. Twice, to
// tell memory that is held from memory that leaks.
for round in 1...2 {
    var peak = rssMB(p.processIdentifier)
    let before = peak
    api.compact()
    api.dropWatches()
    let marker = "10.201.0.\(round)"
    api.apply(.services, ["metadata": ["name": "svc1", "namespace": "ns1"], "spec": ["clusterIP": marker, "ports": [["name": "http", "port": 80]]]])
    let t0 = clock.now
    while query("svc1.ns1.svc.cluster.local.")?.answers.first?.rdataText != marker {
        peak = max(peak, rssMB(p.processIdentifier))
        usleep(20_000)
        if clock.now - t0 > .seconds(300) { print("relist not seen"); exit(1) }
    }
    let visible = clock.now - t0
    for _ in 0..<100 { peak = max(peak, rssMB(p.processIdentifier)); usleep(20_000) }
    sleep(2)
    print("relist \(round): visible after \(ms(visible)); resident before \(String(format: "%.0f", before)) MB, peak \(String(format: "%.0f", peak)) MB (\(String(format: "%.2f", peak / steady))× the first sync's), after \(String(format: "%.0f", rssMB(p.processIdentifier))) MB")
}
