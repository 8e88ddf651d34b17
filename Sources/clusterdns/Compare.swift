import ArgumentParser
import ClusterDNSApp
import DNSResponder
import DNSServer
import DNSWire
import Foundation
import Logging
import RecordIndex

/// `clusterdns compare ADDR:PORT`: asks a running server (a CoreDNS pod before the switch) every
/// question clusterdns would answer, and the negative space around them, and prints where the
/// answers differ. Exit 0: they agree (known differences allowed); 1: they differ; 2: error.
struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running DNS server (a CoreDNS pod) every question clusterdns would answer, and print where the answers differ. Exit 0: they agree; 1: they differ; 2: error.")

    @Argument(help: "The server to check, ADDR or ADDR:PORT ([IPv6]:PORT).")
    var server: String

    @Option(name: .customLong("reference"), help: "Compare with this server instead of clusterdns's own answers (in-process, from the source).")
    var reference: String?

    @Option(name: .customLong("zones"), help: "The objects: a directory of manifests.")
    var zones: String?

    @Flag(name: .customLong("kubernetes"), help: "The objects: the Kubernetes API with in-cluster credentials.")
    var kubernetes = false

    @Option(name: .customLong("kubeconfig"), help: "The objects: the Kubernetes API through this kubeconfig.")
    var kubeconfig: String?

    @Option(name: .customLong("context"), help: "The kubeconfig context. Default: its current-context")
    var context: String?

    @Option(name: [.customLong("corefile"), .customLong("conf", withSingleDash: true)],
            help: "Take the zones and kubernetes options (and, without --zones/--kubeconfig, the API source) from this Corefile.")
    var corefile: String?

    @Option(help: "Questions per second to each server.")
    var qps = 500

    @Option(help: "Seconds to wait for one answer (each question is asked twice before it counts as unanswered).")
    var timeout = 2.0

    @Option(name: .customLong("sync-timeout"), help: "Seconds to wait for the Kubernetes API's first complete list.")
    var syncTimeout = 60

    @Option(help: "Examples printed per kind of difference.")
    var examples = 5

    @Flag(help: "Print every difference.")
    var verbose = false

    @OptionGroup var index: IndexFlags

    func run() async throws {
        do {
            try await compare()
        } catch let e as ExitCode {
            throw e
        } catch {
            printError("compare: \(error)")
            throw ExitCode(2)
        }
    }

    func compare() async throws {
        var logHandler = StreamLogHandler.standardError(label: "clusterdns")
        logHandler.logLevel = .warning
        let logger = Logger(label: "clusterdns", factory: { _ in logHandler })
        let target = try Self.address(server)
        let ref = try reference.map(Self.address)
        guard qps >= 1 else { throw ValidationError("--qps must be at least 1") }

        var configuration: ServeConfiguration
        if let corefile {
            var o = CorefileOverrides()
            o.zonesDirectory = zones
            if let kubeconfig { o.kubernetes = .kubeconfig(path: kubeconfig, context: context) }
            configuration = try CorefileConfiguration.load(path: corefile, overrides: o).configuration
        } else {
            configuration = ServeConfiguration(zonesDirectory: zones, index: try index.options(), server: ServerConfiguration(listen: []))
            if let kubeconfig { configuration.kubernetes = .kubeconfig(path: kubeconfig, context: context) }
            else if kubernetes { configuration.kubernetes = .inCluster }
        }
        let snapshot = try await Comparison.snapshot(configuration, timeout: .seconds(syncTimeout), logger: logger)
        let questions = Comparison.questions(snapshot)
        // As `serve` would answer: the Corefile's plugins, fallthrough and subzone stubs too.
        var processor = QueryProcessor(udpSize: 1232, forwarding: true, plugins: configuration.server.plugins)
        processor.reverseFallthrough = configuration.server.reverseFallthrough
        processor.forwardedInside = configuration.server.forwardedInside
        let source = corefile.map { "Corefile \($0)" } ?? zones.map { "directory \($0)" } ?? "the Kubernetes API"
        print("comparing \(target.0):\(target.1) with \(ref.map { "\($0.0):\($0.1)" } ?? "clusterdns's answers") from \(source): \(questions.count) questions at \(qps)/s")

        var differences: [Comparison.Difference] = []
        var agree = 0, skipped = 0
        let interval = 1.0 / Double(qps)
        var next = Date()
        for q in questions {
            let now = Date()
            if next > now { try await Task.sleep(for: .milliseconds(Int64(next.timeIntervalSince(now) * 1000))) }
            next = max(next, now).addingTimeInterval(interval)
            let expected: Message?
            if let ref {
                expected = Comparison.ask(q, host: ref.0, port: ref.1, timeout: timeout)
                guard expected != nil else {
                    differences.append(.init(kind: .unanswered, question: q, expected: "(no answer from the reference)", actual: "-", known: nil))
                    continue
                }
            } else {
                expected = Comparison.reference(q, snapshot: snapshot, processor: processor)
            }
            guard let expected else {
                skipped += 1  // forwarded: the upstream's answer is not ours to predict
                continue
            }
            guard let actual = Comparison.ask(q, host: target.0, port: target.1, timeout: timeout) else {
                differences.append(.init(kind: .unanswered, question: q, expected: "\(expected.rcode)", actual: "(no answer)", known: nil))
                continue
            }
            let found = Comparison.compare(q, expected: expected, actual: actual, snapshot: snapshot, compareRA: ref != nil)
            if found.isEmpty { agree += 1 } else { differences += found }
        }

        let unknown = differences.filter { $0.known == nil }, known = differences.filter { $0.known != nil }
        print("agree: \(agree), differ: \(Set(unknown.map { "\($0.question.name) \($0.question.type)" }).count), known differences: \(known.count)"
              + (skipped > 0 ? ", not compared (forwarded upstream): \(skipped)" : ""))
        for kind in Comparison.Difference.Kind.allCases {
            let of = unknown.filter { $0.kind == kind }
            guard !of.isEmpty else { continue }
            print("\n\(kind.rawValue): \(of.count)")
            for d in (verbose ? of : Array(of.prefix(examples))) {
                print("  \(d.question.name) \(d.question.type): expected \(d.expected); got \(d.actual)")
            }
            if !verbose && of.count > examples { print("  … \(of.count - examples) more (--verbose)") }
        }
        if !known.isEmpty {
            print("\nknown (each server's own, or answered the RFC way on purpose; see the README):")
            let byReason = Dictionary(grouping: known, by: { $0.known! })
            for (reason, ds) in byReason.sorted(by: { $0.key < $1.key }) {
                print("  \(ds.count) × \(reason)")
                for d in (verbose ? ds : Array(ds.prefix(2))) {
                    print("      \(d.question.name) \(d.question.type): clusterdns \(d.expected); server \(d.actual)")
                }
            }
        }
        if !unknown.isEmpty { throw ExitCode(1) }
    }

    /// `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address; port 53 unless given.
    static func address(_ text: String) throws -> (String, Int) {
        if let e = ServerConfiguration.Endpoint(parsing: text), IPAddress(e.host) != nil { return (e.host, e.port) }
        if IPAddress(text) != nil { return (text, 53) }
        throw ValidationError("\(text): expected an IP address, ADDR:PORT or [IPv6]:PORT")
    }
}
