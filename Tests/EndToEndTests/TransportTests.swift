import DNSWire
import Foundation
import Testing
import TestSupport

/// RFC 7766 and reliability.md §2.5: TCP framing, pipelining and limits; and the bad-input
/// table over real sockets, with a health query after each row.
@Suite(.serialized) struct TransportTests {
    let server: ServerProcess

    init() throws {
        server = try ServerProcess.shared("transport") {
            // The spec world, which the bad-input table's expected rcodes refer to.
            try ServerProcess(arguments: ["--zones", try Fixtures.directory(copyingExample: false, extra: ["world.yaml": SpecWorld.yaml]),
                                          "--tcp-idle-timeout", "1", "--max-tcp-connections", "20"])
        }
    }

    var healthy: Bool {
        DNSClient.udp(DNSClient.query("svc1.testns.svc.cluster.local.", .a), port: server.port, timeout: 1) != nil
    }

    @Test(arguments: MalformedPackets.rows)
    func malformedOverUDPAndTCP(_ row: MalformedPackets.Row) throws {
        let udp = DNSClient.udp(row.bytes, port: server.port, timeout: row.outcome == .drop ? 0.2 : 2)
        switch row.outcome {
        case .drop:
            #expect(udp == nil)
        case .rcode(let rcode):
            let m = try LDNSCheck.decodeBoth(try #require(udp))
            #expect(m.rcode == rcode)
        }
        // TCP: messages under 12 bytes close the connection; the rest get the same outcome.
        if row.bytes.count >= 12 {
            let tcp = DNSClient.tcpRaw([DNSClient.frame(row.bytes)], expect: 1, port: server.port, timeout: row.outcome == .drop ? 0.3 : 2)
            switch row.outcome {
            case .drop: #expect(tcp.replies.isEmpty)
            case .rcode(let rcode): #expect(try LDNSCheck.decodeBoth(try #require(tcp.replies.first)).rcode == rcode)
            }
        }
        #expect(healthy)
    }

    // RFC 7766 §6.2.1.1: 100 pipelined queries on one connection all answered, in one write.
    @Test func pipelining() throws {
        let queries = (0..<100).map { DNSClient.frame(DNSClient.query("svc1.testns.svc.cluster.local.", .a, id: UInt16($0))) }
        let r = DNSClient.tcpRaw([queries.flatMap { $0 }], expect: 100, port: server.port)
        #expect(r.replies.count == 100)
        #expect(Set(try r.replies.map { try Message(decoding: $0).header.id }) == Set((0..<100).map(UInt16.init)))
    }

    // --max-tcp-queries N: a connection is closed once N queries are answered (all N are); with
    // the default (0) there is no limit, as in NSD and CoreDNS.
    @Test func queryLimitPerConnection() throws {
        let limited = try ServerProcess(arguments: ["--zones", try Fixtures.directory(copyingExample: false, extra: ["world.yaml": SpecWorld.yaml]),
                                                    "--max-tcp-queries", "5"])
        defer { _ = limited.stop() }
        let queries = (0..<8).map { DNSClient.frame(DNSClient.query("svc1.testns.svc.cluster.local.", .a, id: UInt16($0))) }
        let r = DNSClient.tcpRaw([queries.flatMap { $0 }], expect: 8, port: limited.port, timeout: 2)
        #expect(r.replies.count == 5)
        #expect(r.closed)
        // The shared server runs with the default: 300 pipelined queries on one connection.
        let many = (0..<300).map { DNSClient.frame(DNSClient.query("svc1.testns.svc.cluster.local.", .a, id: UInt16($0))) }
        #expect(DNSClient.tcpRaw([many.flatMap { $0 }], expect: 300, port: server.port).replies.count == 300)
    }

    // A message split into 1-byte segments is reassembled.
    @Test func oneByteSegments() throws {
        let q = DNSClient.frame(DNSClient.query("svc1.testns.svc.cluster.local.", .a))
        let r = DNSClient.tcpRaw(q.map { [$0] }, expect: 1, port: server.port)
        #expect(r.replies.count == 1)
    }

    // Length prefix 0 or under 12 → the connection is closed.
    @Test func shortLengthCloses() {
        for prefix in [[UInt8(0), 0], [0, 5, 1, 2, 3, 4, 5]] {
            let r = DNSClient.tcpRaw([prefix], expect: 1, port: server.port, timeout: 3)
            #expect(r.replies.isEmpty && r.closed)
        }
        #expect(healthy)
    }

    // A length and then silence: closed after the idle timeout (1 s here), UDP unaffected.
    @Test func silentClientIsClosed() {
        let start = Date()
        let r = DNSClient.tcpRaw([[0, 200, 0, 1]], expect: 1, port: server.port, timeout: 5)
        #expect(r.closed && r.replies.isEmpty)
        #expect(Date().timeIntervalSince(start) < 4.5)
        #expect(healthy)
    }

    // Client half-closes after sending: still answered.
    @Test func halfClose() throws {
        guard let fd = DNSClient.connectTCP("127.0.0.1", server.port, 3) else { Issue.record("connect"); return }
        defer { close(fd) }
        let q = DNSClient.frame(DNSClient.query("svc1.testns.svc.cluster.local.", .a))
        _ = q.withUnsafeBytes { send(fd, $0.baseAddress, q.count, 0) }
        shutdown(fd, Int32(SHUT_WR))
        var buf = [UInt8](repeating: 0, count: 4096)
        var got = 0
        while true {
            let n = recv(fd, &buf[got], buf.count - got, 0)
            if n <= 0 { break }
            got += n
        }
        #expect(got > 14)
    }

    // RFC 7766 §10: a cap on connections; clients beyond it are closed while UDP keeps answering.
    @Test func connectionCap() throws {
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        for _ in 0..<30 {
            if let fd = DNSClient.connectTCP("127.0.0.1", server.port, 2) { fds.append(fd) }
        }
        usleep(200_000)
        // Count the connections the server kept open: the rest see EOF.
        var open = 0
        for fd in fds {
            var b: UInt8 = 0
            var tv = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if recv(fd, &b, 1, 0) < 0 { open += 1 }
        }
        #expect(open <= 20)
        #expect(healthy)
    }
}
