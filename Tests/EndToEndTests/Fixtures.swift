import Foundation
import TestSupport

/// A zones directory for end-to-end tests: the repository's example plus what a test adds.
enum Fixtures {
    static func directory(copyingExample: Bool = true, extra: [String: String] = [:]) throws -> String {
        let dir = NSTemporaryDirectory() + "clusterdns-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if copyingExample {
            let example = ServerProcess.repositoryRoot + "/zones"
            for f in try FileManager.default.contentsOfDirectory(atPath: example) {
                try FileManager.default.copyItem(atPath: example + "/" + f, toPath: dir + "/" + f)
            }
        }
        for (name, text) in extra { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    /// A headless Service with `count` ready endpoints: answers far over 512 and 1232 bytes.
    static func bigHeadless(name: String, _ count: Int) -> String {
        var y = """
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: data}
        spec: {clusterIP: None, ports: [{name: http, port: 80}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: \(name)-1, namespace: data, labels: {kubernetes.io/service-name: \(name)}}
        addressType: IPv4
        ports: [{name: http, protocol: TCP, port: 80}]
        endpoints:

        """
        for i in 0..<count { y += "  - {addresses: [10.\(count % 256).\(i / 250).\(i % 250 + 1)]}\n" }
        return y
    }
}

/// `dig` output, read the way a person reads it.
struct DigResult {
    let text: String
    var status: String? { field(after: "status: ", until: ",") }
    var flags: [String] { (field(after: "flags: ", until: ";") ?? "").split(separator: " ").map(String.init) }
    var hasOPT: Bool { text.contains("OPT PSEUDOSECTION") }
    var ednsFlags: String? { field(after: "; EDNS: version: 0, flags:", until: ";") }
    var answers: [String] {
        sectionLines("ANSWER")
    }

    func sectionLines(_ name: String) -> [String] {
        guard let r = text.range(of: ";; \(name) SECTION:\n") else { return [] }
        return text[r.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .prefix { !$0.isEmpty }.map(String.init)
    }

    func field(after: String, until: Character) -> String? {
        guard let r = text.range(of: after) else { return nil }
        return String(text[r.upperBound...].prefix { $0 != until && $0 != "\n" })
    }
}

func dig(_ port: Int, _ args: [String]) throws -> DigResult {
    let r = try run("dig", ["@127.0.0.1", "-p", "\(port)", "+time=2", "+tries=1"] + args)
    return DigResult(text: r.out)
}
