import CMallocCounter
import DNSResponder
import DNSWire
import Foundation
import KubeModel
import RecordIndex

// The query path without sockets: admit → answer → encode, for the two queries the issue names,
// on a synthetic cluster of 1,000 Services. Prints time per query (informative only: compare
// against NSD with `make bench`) and heap allocations per query, which must not exceed the
// counts checked in beside this file (`allocations.json`).

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
    return o
}

let (zones, stats) = ClusterIndex.build(cluster(), options: IndexOptions(), serial: 1)
let snapshot = Snapshot(zones: zones, stats: stats)
let processor = QueryProcessor()

func query(_ name: String, _ type: RecordType) -> [UInt8] {
    var h = Header()
    h.id = 7
    h.recursionDesired = true
    return Message(header: h, questions: [Question(name: DNSName(name)!, type: type)], edns: EDNS(udpPayloadSize: 1232)).encoded()
}

let cases: [(String, [UInt8])] = [
    ("clusterip_a", query("svc10.ns0.svc.cluster.local.", .a)),
    ("headless_srv", query("_http._tcp.svc11.ns1.svc.cluster.local.", .srv)),
    ("search_miss_nxdomain", query("svc10.ns0.svc.cluster.local.svc.cluster.local.", .a)),
]

let iterations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 200_000
let expected: [String: Int] = {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("allocations.json").path
    guard let data = FileManager.default.contents(atPath: path),
          let json = try? JSONSerialization.jsonObject(with: data) as? [String: Int] else { return [:] }
    return json
}()

var failed = false
var measured: [String: Int] = [:]
print("benchmark              ns/query  allocations/query  checked in")
for (name, bytes) in cases {
    // Warm up (first-use allocations in the runtime are not the query's).
    for _ in 0..<1000 { _ = processor.respond(to: bytes, transport: .udp, snapshot: snapshot) }
    let allocBefore = cdns_allocation_count()
    let clock = ContinuousClock()
    let start = clock.now
    var sink = 0
    for _ in 0..<iterations {
        if case .reply(let r, _) = processor.respond(to: bytes, transport: .udp, snapshot: snapshot) { sink &+= r.count }
    }
    let elapsed = clock.now - start
    let allocs = Int((Double(cdns_allocation_count() - allocBefore) / Double(iterations)).rounded(.up))
    measured[name] = allocs
    let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    let limit = expected[name].map(String.init) ?? "-"
    print(name.padding(toLength: 22, withPad: " ", startingAt: 0), String(format: "%8.0f  %17d  %10@", ns / Double(iterations), allocs, limit), sink == 0 ? "(no replies!)" : "")
    if let e = expected[name], allocs > e { failed = true }
}
if CommandLine.arguments.contains("--update") {
    let data = try JSONSerialization.data(withJSONObject: measured, options: [.prettyPrinted, .sortedKeys])
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("allocations.json").path
    FileManager.default.createFile(atPath: path, contents: data)
    print("wrote \(path)")
}
if failed {
    print("allocations per query went up: see Benchmarks/QueryPath/allocations.json")
    exit(1)
}
