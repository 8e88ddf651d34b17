// Resident memory of the index for the scale benchmark's world (10,000 Services × 10 endpoints),
// in parts: the objects, the store, the derived zones; then 100,000 endpoint nodes alone and
// in a NodeMap, per entry. Resident set after malloc_trim, so fragmentation counts.
// Usage: IndexMemoryBenchmark [SERVICES] [ENDPOINTS_PER_SERVICE] [--index-only] [--decode]
// (--index-only: skip the node measurements, e.g. under valgrind --tool=massif;
// --decode: only decode the world's EndpointSlices as list pages of 500 in the shape a real
// API server writes them, through the calls a list page takes, for callgrind)
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
if CommandLine.arguments.contains("--decode") {
    // One EndpointSlice as kube-apiserver 1.30 lists it: the fields DNS never reads included
    // (uid, ownerReferences, managedFields, topology), as in a real cluster.
    func slice(_ i: Int) -> String {
        let endpoints = (0..<per).map { e in
            #"{"addresses":["\#(podIP(i * per + e))"],"conditions":{"ready":true,"serving":true,"terminating":false},"#
                + #""nodeName":"node-\#(e % 50)","targetRef":{"kind":"Pod","namespace":"ns\#(i % 100)","name":"svc\#(i)-7d9f8c6b5-x\#(e)","#
                + #""uid":"8c1f4a2e-0b7d-4c1e-9d3a-\#(100_000_000_000 + i * per + e)"},"zone":"zone-\#(e % 3)"}"#
        }.joined(separator: ",")
        return #"{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"svc\#(i)-x7k2p","generateName":"svc\#(i)-","#
            + #""namespace":"ns\#(i % 100)","uid":"5d0c7b9e-3f1a-4e2b-8c6d-\#(100_000_000_000 + i)","resourceVersion":"\#(1000 + i)","generation":3,"#
            + #""creationTimestamp":"2026-11-30T10:00:00Z","labels":{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","#
            + #""kubernetes.io/service-name":"svc\#(i)","app":"svc\#(i)"},"annotations":{"endpoints.kubernetes.io/last-change-trigger-time":"2026-11-30T10:00:00Z"},"#
            + #""ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"svc\#(i)","uid":"1e2d3c4b-5a69-4788-9a0b-\#(100_000_000_000 + i)","#
            + #""controller":true,"blockOwnerDeletion":true}],"managedFields":[{"manager":"kube-controller-manager","operation":"Update","#
            + #""apiVersion":"discovery.k8s.io/v1","time":"2026-11-30T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:addressType":{},"f:endpoints":{}}}]},"#
            + #""addressType":"IPv4","endpoints":[\#(endpoints)],"ports":[{"name":"http","protocol":"TCP","port":80}]}"#
    }
    var pages: [[UInt8]] = []
    for start in stride(from: 0, to: services, by: 500) {
        let items = (start..<min(services, start + 500)).map(slice).joined(separator: ",")
        pages.append(Array(#"{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"99999"},"items":[\#(items)]}"#.utf8))
    }
    let clock = ContinuousClock()
    let before = heapMB()
    let t0 = clock.now
    var kept: [ClusterObject] = []
    let rules = ObjectRules<JSONValue>(file: "endpointslices")
    for page in pages {
        let list = try JSONValue.parse(page)
        for item in list["items"]?.items ?? [] { kept += try rules.read(kind: "EndpointSlice", item) ?? [] }
    }
    let elapsed = clock.now - t0
    print("decoded \(kept.count) EndpointSlices (\(f(Double(pages.reduce(0) { $0 + $1.count }) / 1e6)) MB of JSON) in \(elapsed); "
        + "resident for the objects kept, the pages' trees freed: \(f(heapMB() - before)) MB")
    exit(0)
}
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
