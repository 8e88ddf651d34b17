import CMallocCounter
import DNSServer
import DNSWire
import Foundation
import KubeModel
import Logging
import NIOCore
import NIOPosix
import Prometheus
import RecordIndex
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// The whole handler path, from a datagram the kernel hands to the server to the reply it writes
// back: the real DNSServer (one UDP listener thread, one event loop for TCP, query metrics on)
// on loopback, a plain socket as the client, one query at a time. For each case it counts the
// heap allocations made on the thread that answers and, under callgrind, the instructions that
// thread ran, as the difference between a short and a long window (what is done once per window, such
// as waking up to read the counters, cancels out). `--check` compares them with the counts
// checked in beside this file (`cost.json`): allocations exactly, instructions within 10 %
// (only under valgrind; `make test` runs it so). `--update` rewrites the file.

func cluster() -> ClusterObjects {
    var o = ClusterObjects()
    for i in 0..<1000 {
        let ns = "ns\(i % 10)"
        if i % 2 == 0 {
            o.services.append(Service(namespace: ns, name: "svc\(i)", kind: .clusterIP(["10.96.\(i / 256).\(i % 256)"]),
                                      ports: [.init(name: "http", proto: "TCP", port: 80)]))
        } else {
            o.services.append(Service(namespace: ns, name: "svc\(i)", kind: .headless, ports: [.init(name: "http", proto: "TCP", port: 80)]))
            o.endpointSlices.append(EndpointSlice(
                namespace: ns, name: "svc\(i)-x", serviceName: "svc\(i)", addressType: .ipv4,
                endpoints: (0..<5).map { .init(addresses: ["172.16.\(i / 50).\((i % 50) * 5 + $0)"], ready: true, hostname: "svc\(i)-\($0)") },
                ports: [.init(name: "http", proto: "TCP", port: 8080)]))
        }
    }
    o.services.append(Service(namespace: "ns0", name: "alias", kind: .externalName("svc10.ns0.svc.cluster.local"), ports: []))
    // Endpoints without hostnames: their PTRs point at the dashed address (S5), written from the key.
    o.services.append(Service(namespace: "ns0", name: "web", kind: .clusterIP(["10.96.200.1"]), ports: [.init(name: "http", proto: "TCP", port: 80)]))
    o.endpointSlices.append(EndpointSlice(namespace: "ns0", name: "web-x", serviceName: "web", addressType: .ipv4,
                                          endpoints: (1...3).map { .init(addresses: ["172.31.0.\($0)"], ready: true) },
                                          ports: [.init(name: "http", proto: "TCP", port: 8080)]))
    return o
}

func query(_ name: String, _ type: RecordType) -> [UInt8] {
    var h = Header()
    h.id = 7
    h.recursionDesired = true
    return Message(header: h, questions: [Question(name: DNSName(name)!, type: type)], edns: EDNS(udpPayloadSize: 1232)).encoded()
}

/// The paths issue 12 names, each answered by the direct path.
let cases: [(name: String, query: [UInt8], tcp: Bool)] = [
    ("clusterip_a", query("svc10.ns0.svc.cluster.local.", .a), false),
    ("headless_a_rotated", query("svc11.ns1.svc.cluster.local.", .a), false),
    ("headless_srv", query("_http._tcp.svc11.ns1.svc.cluster.local.", .srv), false),
    ("ptr", query("10.0.96.10.in-addr.arpa.", .ptr), false),
    ("ptr_endpoint", query("2.0.31.172.in-addr.arpa.", .ptr), false),
    ("nxdomain", query("nosuch.ns0.svc.cluster.local.", .a), false),
    ("nodata", query("svc10.ns0.svc.cluster.local.", .txt), false),
    ("cname_in_zone", query("alias.ns0.svc.cluster.local.", .a), false),
    ("search_miss", query("svc10.ns0.svc.cluster.local.ns1.svc.cluster.local.", .a), false),
    ("tcp_clusterip_a", query("svc10.ns0.svc.cluster.local.", .a), true),
]

// Synchronous: the client is the main thread, the server one event loop thread.
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let (zones, stats) = ClusterIndex.build(cluster(), options: IndexOptions(), serial: 1)
let store = SnapshotStore(Snapshot(zones: zones, stats: stats))
var configuration = ServerConfiguration(listen: [.init(host: "127.0.0.1", port: 0)])
configuration.udpSocketsPerAddress = 1
let server = try DNSServer(configuration: configuration, store: store, group: group,
                           metrics: DNSMetrics(registry: PrometheusCollectorRegistry(), recordQueries: true),
                           logger: Logger(label: "bench"))

/// Runs an async step from this synchronous program.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<T, Error>?>(nil)
    Task {
        let r: Result<T, Error>
        do { r = .success(try await body()) } catch { r = .failure(error) }
        result.withLock { $0 = r }
        done.signal()
    }
    done.wait()
    return try! result.withLock { $0! }.get()
}

let port = blocking { try await server.start()[0].port }
let onValgrind = cdns_running_on_valgrind() != 0

/// A blocking client socket connected to the server.
struct Client {
    let fd: Int32
    let tcp: Bool

    init(tcp: Bool) {
        self.tcp = tcp
        fd = socket(AF_INET, Int32(tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "connect: \(errno)")
    }

    /// Sends the query and waits for its reply; returns the reply's size.
    func ask(_ q: [UInt8], into buffer: inout [UInt8]) -> Int {
        if tcp {
            let framed = [UInt8(q.count >> 8), UInt8(q.count & 0xFF)] + q
            precondition(send(fd, framed, framed.count, 0) == framed.count)
            var got = 0, need = 2
            while got < need {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, need - got, 0) }
                precondition(n > 0, "no TCP reply")
                got += n
                if got == 2 && need == 2 { need = 2 + (Int(buffer[0]) << 8 | Int(buffer[1])) }
            }
            return got - 2
        }
        precondition(send(fd, q, q.count, 0) == q.count)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        precondition(n > 12, "no UDP reply: \(n) errno \(errno)")
        return n
    }
}

/// Runs `body` on the thread that answers: the UDP listener's, or the event loop for TCP.
/// Callgrind's requests act on the calling thread's counters (with --separate-threads=yes), so
/// made there they count what the server did and nothing the client did.
func onServerThread(tcp: Bool, _ body: @escaping @Sendable () -> Void) {
    if tcp {
        try! group.next().submit(body).wait()
        return
    }
    let done = DispatchSemaphore(value: 0)
    server.onUDPThreads {
        body()
        done.signal()
    }
    done.wait()
}

func serverAllocations(tcp: Bool) -> Int {
    let count = Atomic<Int>(0)
    onServerThread(tcp: tcp) { count.store(cdns_thread_allocation_count(), ordering: .relaxed) }
    return count.load(ordering: .relaxed)
}

/// Instructions in the event loop thread's dump labelled `label`.
func dumpedInstructions(_ label: String) -> Int {
    let dir = ProcessInfo.processInfo.environment["QUERYPATH_CALLGRIND_DIR"] ?? "."
    let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    var total = 0
    for file in files {
        guard let text = try? String(contentsOfFile: dir + "/" + file, encoding: .utf8), text.contains("desc: Trigger: Client Request: \(label)\n") else { continue }
        let lines = text.split(separator: "\n")
        if let summary = lines.first(where: { $0.hasPrefix("summary: ") || $0.hasPrefix("totals: ") }) {
            total += Int(summary.split(separator: " ")[1]) ?? 0
        }
    }
    return total
}

struct Cost { var allocations: Double; var instructions: Double? }

func measure(_ name: String, _ q: [UInt8], tcp: Bool) -> Cost {
    let client = Client(tcp: tcp)
    defer { close(client.fd) }
    var buffer = [UInt8](repeating: 0, count: 65536)
    for _ in 0..<300 { _ = client.ask(q, into: &buffer) }  // warm: caches, arenas, first-use allocations
    let (short, long) = onValgrind ? (100, 400) : (1000, 6000)
    var allocations: [Int] = [], instructions: [Int] = []
    for (k, n) in [short, long].enumerated() {
        let before = serverAllocations(tcp: tcp)
        if onValgrind { onServerThread(tcp: tcp) { cdns_callgrind_zero() } }
        for _ in 0..<n { _ = client.ask(q, into: &buffer) }
        if onValgrind {
            let label = "\(name)-\(k)"
            onServerThread(tcp: tcp) { cdns_callgrind_dump(label) }
            instructions.append(dumpedInstructions(label))
        }
        allocations.append(serverAllocations(tcp: tcp) - before)
    }
    let per = Double(long - short)
    return Cost(allocations: Double(allocations[1] - allocations[0]) / per,
                instructions: onValgrind ? Double(instructions[1] - instructions[0]) / per : nil)
}

let costFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("cost.json").path
let expected = (FileManager.default.contents(atPath: costFile).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: [String: Int]] }) ?? [:]

var failed: [String] = []
var measured: [String: [String: Int]] = ["allocations": [:], "instructions": [:]]
print("case                 allocations/query  checked in   instructions/query  checked in")
for c in cases {
    let cost = measure(c.name, c.query, tcp: c.tcp)
    let allocations = Int(cost.allocations.rounded())
    measured["allocations"]![c.name] = allocations
    let wantAllocations = expected["allocations"]?[c.name]
    var line = c.name.padding(toLength: 20, withPad: " ", startingAt: 0)
        + String(format: " %17.2f  %10@", cost.allocations, wantAllocations.map(String.init) ?? "-")
    if let wantAllocations, allocations != wantAllocations { failed.append("\(c.name): \(allocations) allocations per query, \(wantAllocations) checked in") }
    if let instructions = cost.instructions {
        measured["instructions"]![c.name] = Int(instructions.rounded())
        let want = expected["instructions"]?[c.name]
        line += String(format: "   %18.0f  %10@", instructions, want.map(String.init) ?? "-")
        if let want, abs(instructions - Double(want)) > 0.10 * Double(want) {
            failed.append("\(c.name): \(Int(instructions)) instructions per query, \(want) ± 10 % checked in")
        }
    }
    print(line)
}
blocking { await server.stop() }
try group.syncShutdownGracefully()

if CommandLine.arguments.contains("--update") {
    var out = expected
    out["allocations"] = measured["allocations"]
    if onValgrind { out["instructions"] = measured["instructions"] }
    let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
    FileManager.default.createFile(atPath: costFile, contents: data)
    print("wrote \(costFile)")
} else if CommandLine.arguments.contains("--check"), !failed.isEmpty {
    print("the query path's cost changed (see Benchmarks/QueryPath/cost.json; --update after a deliberate change):")
    for f in failed { print("  " + f) }
    exit(1)
}
