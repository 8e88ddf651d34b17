// swift-tools-version:6.0
import PackageDescription

// Targets follow DESIGN.md: each arrow points one way (DNSWire → RecordIndex → DNSResponder →
// DNSServer → ClusterDNSApp → clusterdns). The import list of a file tells what it is.
let package = Package(
    name: "ClusterDNS",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "clusterdns", targets: ["clusterdns"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // RFC 1035/3597/6891 wire format. Pure Swift, no dependencies: bytes in, values out.
        .target(name: "DNSWire"),
        // Slim Kubernetes objects: only the fields DNS needs, and the one set of rules that reads
        // them from manifests and API responses (addresses are DNSWire values).
        .target(name: "KubeModel", dependencies: ["DNSWire"]),
        // libldns, for RFC 1035 zone files and as an independent decoder in tests.
        .systemLibrary(name: "CLDNS", providers: [.apt(["libldns-dev"])]),
        // The immutable snapshot of everything we answer, and how it is built.
        .target(name: "RecordIndex", dependencies: [
            "DNSWire", "KubeModel",
            .product(name: "HashTreeCollections", package: "swift-collections"),
        ]),
        // The spec: query → answer value. Synchronous, no I/O.
        .target(name: "DNSResponder", dependencies: ["DNSWire", "RecordIndex"]),
        // Names outside our zones: upstreams over UDP/TCP, health, loops, and the cache.
        .target(name: "Forwarding", dependencies: [
            "DNSWire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // recvmmsg/sendmmsg in batches over fixed buffers, for the UDP listener threads.
        .target(name: "CDatagram"),
        // Sockets: UDP/TCP listeners, framing, limits.
        .target(name: "DNSServer", dependencies: [
            "DNSWire", "DNSResponder", "RecordIndex", "Forwarding", "CDatagram",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // What operators look at: /health, /ready and /metrics on their own HTTP listeners.
        .target(name: "Operations", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Where objects come from: the manifest directory (YAML/JSON) and zone files.
        .target(name: "KubeSources", dependencies: [
            "KubeModel", "DNSWire", "RecordIndex", "CLDNS", "FileContents",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The Kubernetes API: credentials, an HTTP client over NIO and TLS, list + watch.
        .target(name: "KubeAPI", dependencies: [
            "KubeModel", "DNSWire", "FileContents",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // CoreDNS's configuration language: Corefile → server blocks and directives (file:line).
        // A file's bytes without Foundation's readers (which leak on empty files).
        .target(name: "FileContents"),
        .target(name: "Corefile", dependencies: ["FileContents"]),
        // glibc allocator controls (malloc_trim, M_ARENA_MAX) for the snapshot's memory.
        .target(name: "CSystemMalloc"),
        // Configuration and composition of the running services.
        .target(name: "ClusterDNSApp", dependencies: [
            "DNSWire", "RecordIndex", "DNSResponder", "DNSServer", "Forwarding", "KubeSources", "KubeAPI", "Operations", "CSystemMalloc", "Corefile", "FileContents",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "clusterdns", dependencies: [
            "ClusterDNSApp", "Forwarding",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Shared by the test targets: libldns as a second opinion on every response, zone-text
        // expectations, and a real server on loopback.
        .target(name: "TestSupport", dependencies: [
            "DNSWire", "CLDNS", "KubeModel", "RecordIndex", "DNSResponder", "DNSServer", "KubeSources", "ClusterDNSApp",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/TestSupport"),
        // A Kubernetes API server for tests: the real protocol, TLS, tokens, faults on demand.
        .target(name: "FakeKubeAPI", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], path: "Tests/FakeKubeAPI"),
        // The whole handler path over loopback: allocations and instructions per query (make test, make bench).
        .target(name: "CMallocCounter", path: "Benchmarks/CMallocCounter"),
        .executableTarget(name: "QueryPathBenchmark", dependencies: [
            "CMallocCounter", "DNSWire", "KubeModel", "RecordIndex", "DNSServer",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], path: "Benchmarks/QueryPath", exclude: ["cost.json"]),
        // Issue 4: watch event → answer latency and relist memory, against the fake API server.
        // Issue 11: the index's memory for a 10,000-Service world, in parts and per name.
        .executableTarget(name: "IndexMemoryBenchmark", dependencies: ["DNSWire", "KubeModel", "RecordIndex", "CSystemMalloc"],
                          path: "Benchmarks/IndexMemory"),
        .executableTarget(name: "PropagationBenchmark", dependencies: ["DNSWire", "FakeKubeAPI"], path: "Benchmarks/Propagation"),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "TestSupport"]),
        .testTarget(name: "CorefileTests", dependencies: ["Corefile", "ClusterDNSApp", "DNSWire", "FileContents", "TestSupport"],
                    exclude: ["Corefiles"]),
        .testTarget(name: "ResponderTests", dependencies: [
            "DNSWire", "RecordIndex", "DNSResponder", "KubeModel", "KubeSources", "TestSupport",
            // PluginTests: Corefile text through CorefilePlugins, forwarded answers through the Forwarder.
            "Corefile", "ClusterDNSApp", "Forwarding", "DNSServer",
            // TCPHandlerTests: the connection handler in an EmbeddedChannel, no socket.
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "EndToEndTests", dependencies: [
            "DNSWire", "ClusterDNSApp", "KubeSources", "KubeAPI", "TestSupport", "FakeKubeAPI",
            .product(name: "Yams", package: "Yams"),
        ]),
        // Issue 14: libFuzzer targets (make fuzz). The checks live in FuzzChecks so the fuzzers and
        // FuzzRegressionTests (every corpus file and saved crash, in make test) run the same code.
        // Built normally, each Fuzz* executable replays files; with -DFUZZING it is a fuzzer.
        .systemLibrary(name: "CFuzzer", path: "Fuzz/CFuzzer"),
        .target(name: "FuzzChecks", dependencies: [
            "DNSWire", "KubeModel", "RecordIndex", "DNSResponder", "KubeSources", "KubeAPI", "ClusterDNSApp", "TestSupport", "CLDNS", "CFuzzer", "FileContents",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ], path: "Fuzz/FuzzChecks"),
        .executableTarget(name: "FuzzWire", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzWire"),
        .executableTarget(name: "FuzzQuery", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzQuery"),
        .executableTarget(name: "FuzzZoneFile", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzZoneFile"),
        .executableTarget(name: "FuzzManifest", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzManifest"),
        .executableTarget(name: "FuzzWatch", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzWatch"),
        .executableTarget(name: "FuzzIndex", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzIndex"),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzChecks", "FileContents"]),
    ]
)
