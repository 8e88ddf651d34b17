// Resident memory of the index for the scale benchmark's world (10,000 Services × 10 endpoints),
// in parts: the objects, the store, the derived zones; then 100,000 endpoint nodes alone and
// in a NodeMap, per entry. Resident set after malloc_trim, so fragmentation counts.
// Usage: IndexMemoryBenchmark [SERVICES] [ENDPOINTS_PER_SERVICE] [--index-only]
// (--index-only: skip the node measurements, e.g. under valgrind --tool=massif)
import DNSWire
import KubeModel
import RecordIndex
import Glibc
import CSystemMalloc
import Foundation

func heapMB() -> Double {
    csm_trim()
    let statm = try! String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
    return Double(statm[1])! * 4096 / 1e6
}
func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
func ip(_ n: Int) -> String { "10.\(96 + n / 65536 % 32).\(n / 256 % 256).\(n % 256)" }
func podIP(_ n: Int) -> String { "10.\(128 + n / 65536 % 64).\(n / 256 % 256).\(n % 256)" }
let services = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 10_000
let per = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2])! : 10
let base = heapMB()
var objects: [ClusterObject] = []
for n in 0..<100 { objects.append(.namespace(Namespace(name: "ns\(n)"))) }
for i in 0..<services {
    let ns = "ns\(i % 100)"
    objects.append(.service(Service(namespace: ns, name: "svc\(i)", kind: i % 10 == 0 ? .headless : .clusterIP([ip(i)]), ports: [.init(name: "http", proto: "TCP", port: 80)])))
    objects.append(.endpointSlice(EndpointSlice(namespace: ns, name: "svc\(i)-x", serviceName: "svc\(i)", addressType: .ipv4,
        endpoints: (0..<per).map { .init(addresses: [podIP(i * per + $0)], ready: true) }, ports: [.init(name: "http", proto: "TCP", port: 80)])))
}
let afterObjects = heapMB()
print("\(services) Services × \(per) endpoints")
print("objects as decoded: \(f(afterObjects - base)) MB")
let clock = ContinuousClock()
let t0 = clock.now
var index = ClusterIndex(options: IndexOptions())
for o in objects { index.apply(.upsert(o), from: .api) }
let afterStore = heapMB()
print("index store and bookkeeping before the first publish: \(f(afterStore - afterObjects)) MB")
let (zones, stats) = index.publish(serial: 1)
let buildTime = clock.now - t0
let afterPublish = heapMB()
let names = zones.map(\.nameCount).reduce(0, +)
print("zones after publish: +\(f(afterPublish - afterStore)) MB for \(names) names (\(f((afterPublish - afterStore) * 1e6 / Double(names), 0)) bytes per name, bookkeeping included)")
objects = []
print("building it (apply every object, publish): \(buildTime)")
print("index total, decoded input dropped: \(f(heapMB() - base)) MB")
_ = zones
if !CommandLine.arguments.contains("--index-only") {
    let m0 = heapMB()
    var nodes: [Node] = []
    nodes.reserveCapacity(100_000)
    for i in 0..<100_000 {
        let n = try! DNSName(labels: ["10-128-\(i / 256)-\(i % 256)", "svc\(i / 10)", "ns\(i % 100)", "svc", "cluster", "local"])
        nodes.append(Node(name: n, rrsets: [RRSet(type: .a, records: [ResourceRecord(name: n, ttl: 5, rdata: .a(.v4(10, 128, UInt8(i / 256 % 256), UInt8(i % 256))))])]))
    }
    let m1 = heapMB()
    print("100,000 endpoint nodes alone: \(f((m1 - m0) * 10, 0)) bytes each (wire \(nodes[5].wire.count) bytes)")
    var map = NodeMap()
    for n in nodes { map[n.name] = n }
    let m2 = heapMB()
    print("their NodeMap: \(f((m2 - m1) * 10, 0)) bytes per entry (\(map.count) entries)")
}
if let mode = CommandLine.arguments.first(where: { $0.hasPrefix("--clients=") }) {
    // Autopath's client table (issue 16): resident memory of the index fed every endpoint's
    // address, or 100,000 slim Pods (what --autopath-pods keeps), with (`--clients=on`) and
    // without (`--clients=off`) the table. Run both, each in its own process: the difference is
    // the table's cost.
    var options = IndexOptions()
    options.clientNamespaces = mode == "--clients=on"
    let m0 = heapMB()
    var index = ClusterIndex(options: options)
    for i in 0..<services {
        let ns = "ns\(i % 100)"
        index.apply(.upsert(.endpointSlice(EndpointSlice(namespace: ns, name: "svc\(i)-x", serviceName: "svc\(i)", addressType: .ipv4,
            endpoints: (0..<per).map { .init(addresses: [podIP(i * per + $0)], ready: true, podName: "svc\(i)-\($0)") }, ports: []))), from: .api)
    }
    let m1 = heapMB()
    for i in 0..<100_000 {
        index.apply(.upsert(.pod(Pod(namespace: "ns\(i % 100)", name: "pod-\(i)-abcde", ips: [podIP(i + 1_000_000)],
                                     hostIP: "10.0.\(i / 110 / 256).\(i / 110 % 256)"))), from: .api)
    }
    let m2 = heapMB()
    print("\(mode): \(services * per) endpoints \(f(m1 - m0)) MB; 100,000 slim Pods \(f(m2 - m1)) MB (\(f((m2 - m1) * 10, 0)) bytes each); \(index.clientNamespaces.count) client addresses")
}
