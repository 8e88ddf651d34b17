import FileContents
import Foundation
import FuzzChecks
import KubeSources
import Testing

/// Issue 11: a 10,000-Service dump "fully served ≤ 2 s". `BlockYAML` reads the YAML that
/// kubectl and people write without libyaml; whatever it reads must read as Yams reads it
/// (`ManifestCheck.sameAsYams`: the same nodes, scalar styles and lines), and whatever it is
/// unsure of it leaves to Yams.
@Suite struct BlockYAMLTests {
    /// Texts the fast reader must accept, each a construct kubectl or a hand-written manifest uses.
    static let accepted: [String] = [
        // kubectl's shape: a List with its items at column 0 (an indentless sequence).
        """
        apiVersion: v1
        items:
        - apiVersion: v1
          kind: Service
          metadata:
            name: web
            namespace: shop
            labels: {}
          spec:
            clusterIP: 10.96.0.10
            ports:
            - name: http
              port: 80
              protocol: TCP
            - port: 443
          status:
            loadBalancer: {}
        kind: List
        metadata:
          resourceVersion: ""

        """,
        // Indented sequences, comments everywhere, quoted keys and values, empty values.
        """
        # a Service
        kind: Service   # trailing comment
        metadata:
          name: 'it''s'
          namespace: "sh\\"op\\u00e9\\x41"
          annotations:
            "quoted/key": yes
            'single': "#not a comment"
            empty:
          finalizers: []
        spec:
            ports:
                -   name: dns
                    port: 53
                -
                    name: dns-tcp
                    port: 53
            externalName: a:b#c
            selector:
              app: web   # the app

        """,
        // Literal block scalars: clip, strip and keep; spaces kept inside; documents.
        """
        ---
        kind: ConfigMap
        data:
          clip: |
            line one
              indented
            line three

          strip: |-
            no break
          keep: |+
            kept

          spaces: |
            a
               
            b
        ---
        kind: Namespace
        metadata:
          name: x
        """,
        // A sequence of scalars and of mappings under a mapping inside a sequence.
        """
        kind: EndpointSlice
        endpoints:
        - addresses:
          - 10.0.0.1
          - "10.0.0.2"
          conditions:
            ready: true
        - addresses: ["10.0.0.3"]
        """,
        // One-line flow collections, as hand-written manifests use them.
        """
        kind: Service
        metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
        spec:
          clusterIPs: [10.96.0.10, 'fd00::a']
          ports:
          - {name: dns, port: 53, protocol: UDP, targetPort: 53}
          - {name: "dns-tcp", port: 53}
          ipFamilies: [ IPv4 , IPv6 ]   # spaces inside
          empty: [[], {}]

        """,
        // A literal block that ends the text without a line break: clipped to none.
        "kind: ConfigMap\ndata:\n  last: |\n    no break at the end",
        // Text beyond ASCII, in every kind of scalar.
        """
        kind: Namespace
        metadata:
          name: "caf\\u00e9 ✓"
          annotations:
            plain: naïve ✓ 😀
            single: 'ü 😀'
            list: [é, "ß"]

        """,
    ]

    @Test(arguments: accepted.indices)
    func readsAsYams(_ i: Int) throws {
        let text = Self.accepted[i]
        #expect(BlockYAML.documents(text) != nil, "not accepted:\n\(text)")
        try ManifestCheck.sameAsYams(text)
        let fast = try ManifestDecoder(file: "x.yaml").decode(text)
        let yams = try ManifestDecoder(file: "x.yaml").decode(text, reader: .yams)
        #expect(fast == yams)
    }

    /// Texts left to Yams: what libyaml reads in ways this reader does not attempt, and errors
    /// (which Yams reports, with its line).
    static let declined: [String] = [
        "a: &x 1\nb: *x\n",                 // anchors and aliases
        "a: !!str 1\n",                     // tags
        "a: {b: 1,\n  c: 2}\n",              // flow collections over two lines
        "a: [b: 1]\n",                      // a pair in a flow sequence
        "a: [b, ]\n",                       // a trailing comma
        "a: >\n  folded\n  text\n",         // folded scalars
        "a: one\n  two\n",                  // a multi-line plain scalar
        "a: \"one\n  two\"\n",              // a multi-line quoted scalar
        "a:\n\tb: 1\n",                     // tabs
        "a: 1\r\nb: 2\r\n",                 // CR LF
        "a: 1\na: 2\n",                     // a duplicated key: Yams's error
        "a: b: c\n",                        // a syntax error
        "- a\n- b\n",                       // a document that is not a mapping
        "a: 1\n---\n",                      // an empty document
        "<<: {a: 1}\n",                     // a merge key
        "a: |2\n   x\n",                    // an indentation indicator
        String(repeating: "k", count: 1100) + ": v\n",          // a key past libyaml's 1,024 bytes
        "\"" + String(repeating: "k", count: 1100) + "\": v\n",
        "a: {" + String(repeating: "k", count: 1100) + ": v}\n",
    ]

    @Test(arguments: declined)
    func leftToYams(_ text: String) throws {
        #expect(BlockYAML.documents(text) == nil, "accepted:\n\(text)")
        try ManifestCheck.sameAsYams(text)
    }

    /// The manifests this repository ships and tests with are all read by the fast reader.
    @Test func repositoryManifests() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var files: [String] = []
        for dir in ["zones", "deploy"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path)
            files += names.filter { $0.hasSuffix(".yaml") }.map { "\(root.path)/\(dir)/\($0)" }
        }
        #expect(files.count >= 6)
        for file in files {
            let text = try #require(FileContents.bytes(file).map { String(decoding: $0, as: UTF8.self) })
            if case .failure(let d) = BlockYAML.read(text) { Issue.record("not accepted: \(file):\(d.line)") }
            try ManifestCheck.sameAsYams(text)
        }
    }
}
