import ClusterDNSApp
import DNSResponder
import DNSWire
import Foundation
import RecordIndex
import TestSupport

/// Target `query`: any bytes, as a UDP datagram and as a TCP message, through
/// `QueryProcessor.respond` (and `respondDirect`, which must reply identically or not at all) against fixed snapshots (the repository's `zones/`, and the spec
/// world plus a Service too big for UDP, each loaded by `OfflineTools.load`), without forwarding. Every input is dropped only
/// for the two reasons a header can give; every reply decodes with our reader and with libldns,
/// is a response to this query (ID, opcode, RD, CD echoed), echoes the question byte for byte
/// when the query had a readable one, fits its transport's limit and carries our OPT exactly
/// when the query had one. A UDP reply without TC answers as the TCP reply does.
public enum QueryPathCheck {
    public static let udpSize = 1232
    static let processor = QueryProcessor(udpSize: udpSize, forwarding: false)

    /// Loaded once per process.
    public static let snapshots: [(name: String, snapshot: Snapshot)] = {
        var out: [(String, Snapshot)] = []
        out.append(("zones/", load(FuzzTarget.repositoryRoot + "/zones", IndexOptions())))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clusterdns-fuzz-spec-\(getpid())").path
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try! SpecWorld.yaml.write(toFile: dir + "/world.yaml", atomically: true, encoding: .utf8)
        try! bulkYAML.write(toFile: dir + "/bulk.yaml", atomically: true, encoding: .utf8)
        try! zoneText.write(toFile: dir + "/fuzz.test.zone", atomically: true, encoding: .utf8)
        var options = IndexOptions()
        options.pods = .insecure
        out.append(("spec world", load(dir, options)))
        try? FileManager.default.removeItem(atPath: dir)
        return out
    }()

    /// A headless Service with more endpoints than fit a 512- or 1232-byte reply, so truncation
    /// and the size limits are exercised (the other worlds' answers are all small).
    static let bulkYAML: String = {
        func endpoints(_ n: Int, _ address: (Int) -> String) -> String {
            (0..<n).map { "  - {addresses: [\"\(address($0))\"], hostname: h\($0), conditions: {ready: true}}\n" }.joined()
        }
        return """
        apiVersion: v1
        kind: Namespace
        metadata: {name: bulk}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: many, namespace: bulk}
        spec: {clusterIP: None, ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 53}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: many-v4, namespace: bulk, labels: {kubernetes.io/service-name: many}}
        addressType: IPv4
        ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 53}]
        endpoints:

        """ + endpoints(120) { "10.9.\($0 / 256).\($0 % 256)" } + """
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: many-v6, namespace: bulk, labels: {kubernetes.io/service-name: many}}
        addressType: IPv6
        ports: [{name: http, protocol: TCP, port: 80}]
        endpoints:

        """ + endpoints(40) { "fd00:9::\(String($0, radix: 16))" }
    }()

    /// A zone file with what the cluster zones never hold: MX, TXT with special bytes, a
    /// delegation with glue, unknown types.
    static let zoneText = ##"""
    $ORIGIN fuzz.test.
    $TTL 60
    @ IN SOA ns hostmaster 1 3600 600 86400 60
    @ IN NS ns
    @ IN MX 10 mail
    ns IN A 192.0.2.1
    ns IN AAAA 2001:db8::1
    mail IN A 192.0.2.25
    _sip._udp IN SRV 10 60 5060 sip
    sip IN A 192.0.2.7
    alias IN CNAME sip
    chain IN CNAME alias
    out IN CNAME elsewhere.example.
    txt IN TXT "hello world" "semi;colon" "quote\"d" "\255\000" ""
    child IN NS ns.child
    ns.child IN A 192.0.2.53
    odd\.label\032x IN A 192.0.2.99
    unknown IN TYPE65300 \# 3 010203
    """##

    static func load(_ directory: String, _ options: IndexOptions) -> Snapshot {
        do {
            let (load, snapshot) = try OfflineTools.load(directory: directory, options: options)
            precondition(load.problems.isEmpty, "\(directory) does not load cleanly: \(load.problems)")
            precondition(!snapshot.zones.isEmpty, "\(directory) gives no zones")
            return snapshot
        } catch {
            preconditionFailure("cannot load \(directory): \(error)")
        }
    }

    public static func check(_ query: [UInt8]) throws {
        for (name, snapshot) in snapshots {
            let udpReply = try checkOne(query, .udp, snapshot, name)
            let tcpReply = try checkOne(query, .tcp, snapshot, name)
            guard case let (udp, udpBytes)? = udpReply, case let (tcp, tcpBytes)? = tcpReply else { continue }
            if udp.header.truncated {
                // Truncated only when the whole reply would not have fitted.
                try require(tcpBytes > udpLimit(query), "\(name): TC=1 on a \(udpBytes)-byte UDP reply, yet the whole reply is \(tcpBytes) bytes")
            } else {
                try require(udp.rcode == tcp.rcode && udp.header.authoritative == tcp.header.authoritative
                            && udp.answers == tcp.answers && udp.authority == tcp.authority,
                            "\(name): the untruncated UDP reply differs from the TCP one:\n  \(udp)\n  \(tcp)")
            }
        }
    }

    /// What the query says about itself, read independently of the processor.
    struct Expectation {
        var header: Header
        /// The question's bytes when the header allows one (QUERY, QDCOUNT 1) and it reads.
        var questionBytes: ArraySlice<UInt8>?
        /// The whole query decoded (so its OPT is well-formed), nil when it does not decode.
        var message: Message?
    }

    static func expectation(_ query: [UInt8]) -> Expectation? {
        guard query.count >= Header.size else { return nil }
        let header = Header(bytes: query)
        var e = Expectation(header: header)
        guard header.opcode == .query, header.qdCount == 1 else { return e }
        var reader = WireReader(query, offset: Header.size)
        guard (try? reader.readQuestion()) != nil else { return e }
        e.questionBytes = query[Header.size..<reader.offset]
        e.message = try? Message(decoding: query)
        return e
    }

    /// The UDP limit the query asks for: 512 without a valid OPT, else its size within
    /// 512...udpSize.
    static func udpLimit(_ query: [UInt8]) -> Int {
        let edns = expectation(query)?.message?.edns
        return edns.map { max(512, min(Int($0.udpPayloadSize), udpSize)) } ?? 512
    }

    static func checkOne(_ query: [UInt8], _ transport: QueryProcessor.Transport, _ snapshot: Snapshot, _ world: String) throws -> (Message, Int)? {
        let outcome = processor.respond(to: query, transport: transport, snapshot: snapshot)
        let what = "\(world), \(transport)"
        // The direct path (what the server tries first) answers exactly as the long way, or not.
        do {
            try DirectAnswerCheck.compare(query, snapshot, processor: processor, transport: transport, rotation: query.count)
        } catch {
            throw CheckFailure("\(what): \(error)")
        }
        guard let e = expectation(query) else {
            try require(outcome == .drop(.short), "\(what): a \(query.count)-byte message gave \(outcome), not a drop")
            return nil
        }
        if e.header.isResponse {
            try require(outcome == .drop(.response), "\(what): a response (QR=1) gave \(outcome), not a drop")
            return nil
        }
        let bytes: [UInt8], info: QueryProcessor.ReplyInfo
        switch outcome {
        case .reply(let b, let i): (bytes, info) = (b, i)
        case .drop(let reason): throw CheckFailure("\(what): a query was dropped (\(reason))")
        case .handOff(let request): throw CheckFailure("\(what): handed off without forwarding: \(request)")
        }

        let reply: Message
        do {
            reply = try LDNSCheck.decodeBoth(bytes)
        } catch {
            throw CheckFailure("\(what): the reply does not decode the same with both readers: \(error)\n  reply \(bytes)")
        }
        let h = reply.header
        try require(h.isResponse, "\(what): QR=0 in the reply")
        try require(h.id == e.header.id && h.opcode == e.header.opcode && h.recursionDesired == e.header.recursionDesired
                    && h.checkingDisabled == e.header.checkingDisabled, "\(what): the reply header does not answer the query's: \(h) for \(e.header)")
        try require(!h.zero && !h.authenticData, "\(what): Z or AD set in the reply")
        try require(info.rcode == reply.rcode, "\(what): ReplyInfo says \(info.rcode), the reply says \(reply.rcode)")

        if let q = e.questionBytes {
            try require(h.qdCount == 1 && bytes.count >= Header.size + q.count && bytes[Header.size..<(Header.size + q.count)] == q,
                        "\(what): the question is not echoed byte for byte: sent \(Array(q)), got \(bytes)")
        } else {
            try require(reply.questions.isEmpty, "\(what): a question in the reply to a query without a readable one")
        }

        let queryEDNS = e.message?.edns
        switch transport {
        case .tcp:
            try require(bytes.count <= 65535, "\(what): a \(bytes.count)-byte TCP reply")
        case .udp:
            let limit = udpLimit(query)
            try require(bytes.count <= limit, "\(what): a \(bytes.count)-byte UDP reply over the limit of \(limit)")
        }

        if let r = reply.edns {
            try require(queryEDNS != nil, "\(what): OPT in the reply to a query without a valid one")
            try require(r.version == 0 && r.options.isEmpty && r.otherFlags == 0 && Int(r.udpPayloadSize) == udpSize
                        && r.dnssecOK == queryEDNS?.dnssecOK, "\(what): reply OPT \(r) for query OPT \(String(describing: queryEDNS))")
        } else {
            try require(queryEDNS == nil, "\(what): no OPT in the reply to a query with one")
        }
        return (reply, bytes.count)
    }
}
