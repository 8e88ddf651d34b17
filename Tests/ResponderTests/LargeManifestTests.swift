import Foundation
import KubeSources
import KubeModel
import Testing

/// Issue 11: "a 10,000-Service `kubectl get -o yaml` dump … fully served" fast. A large
/// `kind: List` is parsed in pieces on every core; the pieces must read exactly as the whole
/// file would, and a problem deep inside must still be reported at its own line.
@Suite struct LargeManifestTests {
    /// A kubectl-style List well over the split size, with one bad object near the end.
    static func dump(services: Int, badAt: Int) -> (text: String, badLine: Int) {
        var lines = ["apiVersion: v1", "items:"]
        var badLine = 0
        for i in 0..<services {
            lines += ["- apiVersion: v1", "  kind: Service", "  metadata:", "    name: svc\(i)", "    namespace: ns\(i % 7)",
                      "    annotations:", "      note: \"padding to make the file large enough to be split into pieces\"",
                      "  spec:", "    ports:", "    - name: http", "      port: 80", "      protocol: TCP"]
            if i == badAt { badLine = lines.count + 1 }
            lines.append("    clusterIP: " + (i == badAt ? "10.96.0.999" : "10.96.\(i / 256 % 256).\(i % 256)"))
        }
        lines += ["kind: List", "metadata:", "  resourceVersion: \"\""]
        return (lines.joined(separator: "\n") + "\n", badLine)
    }

    @Test func piecesReadAsTheWholeFile() throws {
        let (text, badLine) = Self.dump(services: 5000, badAt: 4711)
        #expect(text.utf8.count > ManifestDecoder.splitSize)
        let chunks = try #require(ManifestDecoder.listChunks(text))
        #expect(chunks.count >= 2)
        let decoder = ManifestDecoder(file: "dump.yaml")
        let pieces = try decoder.decode(text)
        let whole = try decoder.decode(text, lineOffset: 0, itemsOnly: false)
        #expect(pieces == whole)
        #expect(pieces.objects.count == 4999)
        #expect(pieces.problems.map(\.description) == ["dump.yaml:\(badLine): Service ns0/svc4711: bad IP address 10.96.0.999"])
    }

    /// An alias to an anchor in another piece cannot be read in pieces: the file is read whole.
    @Test func aliasAcrossPiecesReadsWhole() throws {
        var (text, _) = Self.dump(services: 5000, badAt: -1)
        text = text.replacingOccurrences(of: "    ports:\n", with: "    ports: &ports\n", options: [], range: text.range(of: "    ports:\n"))
        text = text.replacingOccurrences(of: "kind: List\n", with: """
            - apiVersion: v1
              kind: Service
              metadata: {name: last, namespace: ns0}
              spec:
                ports: *ports
                clusterIP: 10.97.0.2
            kind: List

            """)
        let decoder = ManifestDecoder(file: "dump.yaml")
        let result = try decoder.decode(text)
        #expect(result.objects.count == 5001)
        #expect(result.problems.isEmpty)
    }

    /// A YAML error inside a piece is reported at the file's line, as a whole-file parse does.
    @Test func syntaxErrorsKeepTheirLine() throws {
        var (text, _) = Self.dump(services: 5000, badAt: -1)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let broken = 40_000
        lines[broken] = "    name: [unclosed"
        text = lines.joined(separator: "\n")
        let decoder = ManifestDecoder(file: "dump.yaml")
        var piecesError: SourceError?
        var wholeError: SourceError?
        do { _ = try decoder.decode(text) } catch { piecesError = error }
        do { _ = try decoder.decode(text, lineOffset: 0, itemsOnly: false) } catch { wholeError = error }
        #expect(piecesError != nil)
        #expect(piecesError?.line == wholeError?.line)
    }
}

/// The API's JSON: what DNS never reads (`metadata.managedFields`, `annotations`, owner
/// references, an endpoint's topology) is skipped unread, and a key of the same name anywhere
/// else is data like any other.
@Suite struct JSONValueTests {
    @Test func skipsOnlyMetadataBulk() throws {
        let text = #"{"metadata":{"name":"s","namespace":"n","annotations":{"a":"b"},"managedFields":[{"x":1}]},"spec":{"selector":{"app":"x","annotations":"y"},"clusterIP":"10.96.0.1"}}"#
        let v = try JSONValue.parse(Array(text.utf8))
        #expect(v["metadata"]?["annotations"] == nil)
        #expect(v["metadata"]?["managedFields"] == nil)
        #expect(v["metadata"]?["name"]?.text == "s")
        #expect(v["spec"]?["selector"]?["annotations"]?.text == "y")
    }

    /// An EndpointSlice as kube-apiserver lists it: owner references, uids, timestamps and an
    /// endpoint's topology are skipped; what `ObjectRules` reads stays, and the slice decodes
    /// as it would without them.
    @Test func skipsWhatDNSNeverReadsOfARealSlice() throws {
        let text = #"{"kind":"EndpointSlice","metadata":{"name":"web-x7k2p","generateName":"web-","namespace":"shop","uid":"5d0c","resourceVersion":"81","generation":3,"creationTimestamp":"2026-11-30T10:00:00Z","labels":{"kubernetes.io/service-name":"web","uid":"label"},"ownerReferences":[{"kind":"Service","name":"web","uid":"1e2d"}]},"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.7"],"conditions":{"ready":true,"serving":true},"hostname":"web-0","nodeName":"node-1","zone":"z1","targetRef":{"kind":"Pod","namespace":"shop","name":"web-0","uid":"8c1f"}}],"ports":[{"name":"http","protocol":"TCP","port":80}]}"#
        let v = try JSONValue.parse(Array(text.utf8))
        for key in ["uid", "generateName", "generation", "creationTimestamp", "ownerReferences"] { #expect(v["metadata"]?[key] == nil) }
        #expect(v["metadata"]?["resourceVersion"]?.text == "81")
        #expect(v["metadata"]?["labels"]?["uid"]?.text == "label")
        let endpoint = v["endpoints"]?.items?.first
        #expect(endpoint?["nodeName"] == nil)
        #expect(endpoint?["zone"] == nil)
        #expect(endpoint?["targetRef"]?["uid"] == nil)
        #expect(endpoint?["targetRef"]?["name"]?.text == "web-0")
        let slices = try ObjectRules<JSONValue>(file: "endpointslices").read(kind: "EndpointSlice", v)
        #expect(slices == [.endpointSlice(EndpointSlice(namespace: "shop", name: "web-x7k2p", serviceName: "web", addressType: .ipv4,
            endpoints: [.init(addresses: ["10.1.0.7"], ready: true, hostname: "web-0", podName: "web-0")],
            ports: [.init(name: "http", proto: "TCP", port: 80)]))])
    }

    @Test func malformedBodiesAreErrors() {
        for text in ["", "{", "[1,]", #"{"a":}"#, #""\u12"#, #""\ud800""#, "nul", "1 2", String(repeating: "[", count: 100)] {
            #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(text.utf8)) }
        }
    }
}
