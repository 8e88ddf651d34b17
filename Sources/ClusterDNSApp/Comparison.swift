import DNSResponder
import DNSWire
import Foundation
import KubeAPI
import Logging
import NIOPosix
import RecordIndex
import Synchronization

/// `clusterdns compare`: the migration safety check. The questions come from what clusterdns
/// would serve (every name and type, and the negative space around them), both servers are
/// asked, and the answers are compared the way an operator cares about: rcode, answer set, TTL,
/// flags, authority. Where clusterdns gives the RFC answer on purpose and CoreDNS does not, the
/// difference is labelled known.
public enum Comparison {
    /// One difference found.
    public struct Difference: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable, Comparable {
            case rcode, answer, ttl, flags, authority, unanswered
            public static func < (a: Kind, b: Kind) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
        }
        public var kind: Kind
        public var question: Question
        public var expected: String
        public var actual: String
        /// Why the difference is expected, when it is one of clusterdns's deliberate answers.
        public var known: String?

        public init(kind: Kind, question: Question, expected: String, actual: String, known: String? = nil) {
            self.kind = kind
            self.question = question
            self.expected = expected
            self.actual = actual
            self.known = known
        }
    }

    /// What to ask, derived from a snapshot: every owner and type, plus the questions whose
    /// answer is negative (wrong type, missing siblings and endpoints, ndots:5 expansions,
    /// unknown addresses, wrong port names).
    public static func questions(_ snapshot: Snapshot) -> [Question] {
        var out: [Question] = []
        var seen = Set<String>()
        func add(_ name: DNSName?, _ type: RecordType) {
            guard let name, seen.insert("\(name.description.lowercased()) \(type)").inserted else { return }
            out.append(Question(name: name, type: type))
        }
        func child(_ label: String, of parent: DNSName) -> DNSName? { try? DNSName(labels: [label], suffix: parent) }
        for zone in snapshot.zones {
            let records = zone.allRecords()
            var owners: [DNSName] = []
            var ownerSet = Set<DNSName>()
            for rr in records {
                add(rr.name, rr.type)
                if ownerSet.insert(rr.name).inserted { owners.append(rr.name) }
            }
            let apex = zone.apex
            for owner in owners {
                // A type the name does not have.
                add(owner, records.contains { $0.name == owner && $0.type == .txt } ? .mx : .txt)
                if records.contains(where: { $0.name == owner && $0.type == .a }) { add(owner, .aaaa) }
                let labels = owner.labels.map { String(decoding: $0, as: UTF8.self).lowercased() }
                let depth = labels.count - apex.labels.count
                switch zone.kind {
                case .cluster:
                    // NAME.NS.svc.ZONE: a missing sibling, the ndots:5 expansions, an endpoint
                    // that is not there.
                    if depth == 3, labels[2] == "svc" {
                        let namespace = owner.parent
                        add(child("no-such-service", of: namespace), .a)
                        let ns = labels[1]
                        for suffix in ["\(ns).svc.\(apex)", "svc.\(apex)", "\(apex)"] {
                            add(try? DNSName(parsing: owner.description + suffix), .a)
                        }
                        add(child("no-such-endpoint", of: owner), .a)
                        add(try? DNSName(labels: ["_no-such-port", "_tcp"], suffix: owner), .srv)
                    }
                case .reverse:
                    if records.contains(where: { $0.name == owner && $0.type == .ptr }),
                       let missing = child(labels[0] == "254" ? "253" : "254", of: owner.parent), !ownerSet.contains(missing) {
                        add(missing, .ptr)
                    }
                case .file:
                    break
                }
            }
            if case .cluster = zone.kind { add(try? DNSName(labels: ["no-such-service", "no-such-namespace", "svc"], suffix: apex), .a) }
            add(apex, .soa)
            add(apex, .ns)
        }
        return out
    }

    /// A server's answer in the parts compared.
    public struct Observed: Sendable {
        public var message: Message
        public init(_ message: Message) { self.message = message }
    }

    /// Compares one answer with the reference. `exists` says whether the name exists in the
    /// snapshot (as an owner or an empty non-terminal), for the known differences. `compareRA`
    /// only when both are servers (the in-process reference forwards nothing).
    public static func compare(_ q: Question, expected e: Message, actual a: Message, snapshot: Snapshot,
                               compareRA: Bool) -> [Difference] {
        var out: [Difference] = []
        func add(_ kind: Difference.Kind, _ ex: String, _ ac: String) {
            out.append(Difference(kind: kind, question: q, expected: ex, actual: ac, known: known(kind, q, e, a, snapshot)))
        }
        if e.rcode != a.rcode {
            add(.rcode, "\(e.rcode)", "\(a.rcode)")
            return out
        }
        let ea = set(e.answers), aa = set(a.answers)
        if ea != aa {
            add(.answer, summary(e.answers), summary(a.answers))
        } else {
            let et = ttls(e.answers), at = ttls(a.answers)
            if et != at { add(.ttl, et.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", "), at.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ")) }
        }
        var flags: [String] = []
        if e.header.authoritative != a.header.authoritative { flags.append("aa") }
        if compareRA && e.header.recursionAvailable != a.header.recursionAvailable { flags.append("ra") }
        if e.header.truncated != a.header.truncated { flags.append("tc") }
        if !flags.isEmpty {
            add(.flags, flagText(e), flagText(a))
        }
        if set(e.authority) != set(a.authority) {
            add(.authority, summary(e.authority), summary(a.authority))
        }
        return out
    }

    /// CoreDNS's documented deviations (spec coredns-kubernetes.md §4, 14–19) and the README's
    /// list: clusterdns answers these the RFC way on purpose.
    static func known(_ kind: Difference.Kind, _ q: Question, _ e: Message, _ a: Message, _ snapshot: Snapshot) -> String? {
        if isNameserverAddress(q, snapshot) {
            return "ns.dns.ZONE answers the address of the server asked (CoreDNS: its pod's IP), which two servers do not share"
        }
        let existsHere = nameExists(q.name, snapshot)
        switch kind {
        case .rcode where e.rcode == .noError && a.rcode == .nxDomain && e.answers.isEmpty && existsHere:
            return "an existing name without this type is NODATA (RFC 8020); CoreDNS says NXDOMAIN at the apex, empty non-terminals, _proto and dns-version"
        case .rcode where e.rcode == .nxDomain && a.rcode == .noError && q.type == .soa && a.answers.isEmpty:
            return "SOA at a missing name is NXDOMAIN; CoreDNS says NOERROR"
        case .rcode where e.answers.first?.type == .cname && a.answers.allSatisfy({ $0.type != .cname }),
             .answer where e.answers.first?.type == .cname && a.answers.allSatisfy({ $0.type != .cname }):
            return "a CNAME is answered with its chain (RFC 1034 §3.6.2, RFC 6604); CoreDNS drops it when the target lacks the type"
        case .authority where e.authority.count == a.authority.count && e.authority.allSatisfy({ $0.type == .soa })
            && a.authority.allSatisfy({ $0.type == .soa }):
            return soaDiffersOnlyInSerial(e.authority, a.authority) ? "the SOA serial is each server's own" : nil
        default:
            return nil
        }
    }

    /// `ns.dns.<zone>` A or AAAA (spec: the nameserver's own addresses, from where it listens).
    static func isNameserverAddress(_ q: Question, _ snapshot: Snapshot) -> Bool {
        guard q.type == .a || q.type == .aaaa, let zone = snapshot.zone(for: q.name), q.name.labelsAbove(zone.apex) == 2 else { return false }
        let labels = q.name.labels.prefix(2).map { String(decoding: $0, as: UTF8.self).lowercased() }
        return labels == ["ns", "dns"]
    }

    static func nameExists(_ name: DNSName, _ snapshot: Snapshot) -> Bool {
        guard let zone = snapshot.zone(for: name) else { return false }
        return zone.allRecords().contains { $0.name == name || $0.name.isSubdomain(of: name) }
    }

    static func soaDiffersOnlyInSerial(_ x: [ResourceRecord], _ y: [ResourceRecord]) -> Bool {
        zip(x, y).allSatisfy { a, b in
            guard case .soa(let s1) = a.rdata, case .soa(let s2) = b.rdata else { return false }
            var t = s2
            t.serial = s1.serial
            return a.name == b.name && s1 == t
        }
    }

    /// Records as a set without TTLs (answer order rotates with loadbalance; names any case).
    static func set(_ rrs: [ResourceRecord]) -> Set<String> {
        Set(rrs.map { rr in
            var r = rr
            r.ttl = 0
            if case .soa(var soa) = r.rdata { soa.serial = 0; r.rdata = .soa(soa) }
            return r.description.lowercased()
        })
    }

    static func ttls(_ rrs: [ResourceRecord]) -> [String: UInt32] {
        var out: [String: UInt32] = [:]
        for rr in rrs { out["\(rr.name.description.lowercased()) \(rr.type)"] = rr.ttl }
        return out
    }

    static func summary(_ rrs: [ResourceRecord]) -> String {
        rrs.isEmpty ? "(none)" : rrs.map(\.description).sorted().joined(separator: " | ")
    }

    static func flagText(_ m: Message) -> String {
        [m.header.authoritative ? "aa" : nil, m.header.recursionAvailable ? "ra" : nil, m.header.truncated ? "tc" : nil]
            .compactMap { $0 }.joined(separator: " ")
    }

    // MARK: asking

    /// Asks `question` over UDP (TCP when truncated), one retry after `timeout`.
    public static func ask(_ question: Question, host: String, port: Int, timeout: Double) -> Message? {
        var header = Header()
        header.id = UInt16.random(in: 0...UInt16.max)
        header.recursionDesired = true
        let query = Message(header: header, questions: [question], edns: EDNS(udpPayloadSize: 1232)).encoded()
        for _ in 0..<2 {
            guard let bytes = Exchange.udp(query, host: host, port: port, timeout: timeout), let m = try? Message(decoding: bytes),
                  m.header.id == header.id else { continue }
            if m.header.truncated, let t = Exchange.tcp(query, host: host, port: port, timeout: timeout), let full = try? Message(decoding: t) {
                return full
            }
            return m
        }
        return nil
    }

    /// clusterdns's own answer from the snapshot, as `serve` gives it over TCP; nil when it would
    /// be forwarded (the reference cannot know the upstream's answer).
    public static func reference(_ question: Question, snapshot: Snapshot, processor: QueryProcessor) -> Message? {
        var header = Header()
        header.id = 1
        header.recursionDesired = true
        let query = Message(header: header, questions: [question], edns: EDNS(udpPayloadSize: 1232)).encoded()
        guard case .reply(let bytes, _) = processor.respond(to: query, transport: .tcp, snapshot: snapshot) else { return nil }
        return try? Message(decoding: bytes)
    }

    /// The snapshot `serve` would answer from, loaded once: the directory, or one list of the
    /// Kubernetes API (until every resource has synced), then the watch is dropped.
    public static func snapshot(_ configuration: ServeConfiguration, timeout: Duration, logger: Logger) async throws -> Snapshot {
        guard configuration.kubernetes != nil else {
            guard let dir = configuration.zonesDirectory else { throw CompareError("give --zones DIR, --kubernetes or --kubeconfig PATH (or --corefile)") }
            let (load, snapshot) = try OfflineTools.load(directory: dir, options: configuration.index)
            for p in load.problems { logger.warning("\(p)") }
            return snapshot
        }
        return try await ClusterDNS(configuration: configuration, logger: logger).listOnce(timeout: timeout)
    }

    public struct CompareError: Error, CustomStringConvertible {
        public var description: String
        public init(_ d: String) { description = d }
    }
}

extension ClusterDNS {
    /// Lists the API once through the same watcher and index as `serve`, returns the first
    /// snapshot built from a complete sync.
    func listOnce(timeout: Duration) async throws -> Snapshot {
        guard let kube = configuration.kubernetes else { return store.snapshot }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let snapshot = try await listOnce(kube, group: group, timeout: timeout)
            try? await group.shutdownGracefully()
            return snapshot
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func listOnce(_ kube: ServeConfiguration.Kubernetes, group: MultiThreadedEventLoopGroup, timeout: Duration) async throws -> Snapshot {
        let synced = AsyncStream<Void>.makeStream()
        let index = IndexService(options: configuration.index, store: store, metrics: IndexMetrics(app: metrics), logger: logger,
                                 waitingFor: [.api], onSynced: { _ in synced.continuation.yield() })
        let indexTask = Task { await index.run() }
        let kubeReadiness = KubeReadiness(readiness: readiness, metrics: metrics)
        let watch = try startKubernetes(kube, group: group, index: index, readiness: kubeReadiness)
        defer {
            watch.cancel()
            indexTask.cancel()
        }
        let done = await withTaskGroup(of: Bool.self) { g in
            g.addTask { for await _ in synced.stream { return true }; return false }
            g.addTask { try? await Task.sleep(for: timeout); return false }
            let first = await g.next() ?? false
            g.cancelAll()
            return first
        }
        guard done else {
            throw Comparison.CompareError("the Kubernetes API did not sync within \(timeout): \(readiness.status().text)")
        }
        return store.snapshot
    }
}

/// A blocking DNS exchange with one server (compare asks at a paced rate from one thread).
enum Exchange {
    static func udp(_ query: [UInt8], host: String, port: Int, timeout: Double) -> [UInt8]? {
        withSocket(host, port, SOCK_DGRAM, timeout) { fd in
            guard send(fd, query, query.count, 0) == query.count else { return nil }
            var buf = [UInt8](repeating: 0, count: 65535)
            let n = recv(fd, &buf, buf.count, 0)
            return n > 0 ? Array(buf[..<n]) : nil
        }
    }

    static func tcp(_ query: [UInt8], host: String, port: Int, timeout: Double) -> [UInt8]? {
        withSocket(host, port, SOCK_STREAM, timeout) { fd in
            let framed = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query
            guard send(fd, framed, framed.count, Int32(MSG_NOSIGNAL)) == framed.count else { return nil }
            func read(_ count: Int) -> [UInt8]? {
                var out = [UInt8](repeating: 0, count: count), got = 0
                while got < count {
                    let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
                    guard n > 0 else { return nil }
                    got += n
                }
                return out
            }
            guard let len = read(2) else { return nil }
            return read(Int(len[0]) << 8 | Int(len[1]))
        }
    }

    static func withSocket(_ host: String, _ port: Int, _ type: __socket_type, _ timeout: Double, _ body: (Int32) -> [UInt8]?) -> [UInt8]? {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { return nil }
            connected = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { return nil }
            connected = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard connected == 0 else { return nil }
        return body(fd)
    }
}
