import DNSServer
import DNSResponder
import DNSWire
import Forwarding
import Logging
import NIOCore
import NIOEmbedded
import RecordIndex
import Testing
import TestSupport

/// The TCP connection handler with no socket: bytes written into an `EmbeddedChannel` as a
/// client would send them, the exact bytes the server writes read back. The spec world's
/// answers themselves are tested elsewhere; here, what TCP adds: framing, pipelining, the cap
/// on queries per connection, bad lengths.
@Suite struct TCPHandlerTests {
    static let processor = QueryProcessor()

    func connection(maxQueries: Int = 0) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let counters = ServerCounters()
        let recorder = DNSMetrics(registry: .init(), recordQueries: true)
            .recorder(server: "test", proto: "tcp", logger: Logger(label: "test"), logQueries: false)
        let handler = TCPQueryHandler(store: SnapshotStore(SpecWorld.world.snapshot),
                                      dispatch: QueryDispatch(processor: Self.processor, forwarder: nil, counters: counters),
                                      counters: counters, recorder: recorder, maxQueries: maxQueries, stallTimeout: .seconds(10),
                                      loadBalance: false, allocator: channel.allocator)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5300)).wait()
        return channel
    }

    func query(_ name: String, _ type: RecordType, id: UInt16) -> [UInt8] {
        var h = Header()
        h.id = id
        h.recursionDesired = true
        return Message(header: h, questions: [Question(name: DNSName(name)!, type: type)]).encoded()
    }

    /// RFC 1035 §4.2.2: "The message is prefixed with a two byte length field which gives the
    /// message length, excluding the two byte length field."
    func framed(_ message: [UInt8]) -> [UInt8] {
        [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }

    /// What the processor answers over TCP: the reply the handler must write, byte for byte.
    func expected(_ query: [UInt8]) -> [UInt8] {
        guard case .reply(let bytes, _) = Self.processor.respond(to: query, transport: .tcp, snapshot: SpecWorld.world.snapshot) else {
            return []
        }
        return framed(bytes)
    }

    func written(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            if buffer.readableBytes > 0 { out.append(buffer.readBytes(length: buffer.readableBytes)!) }
        }
        return out
    }

    func send(_ channel: EmbeddedChannel, _ bytes: [UInt8]) throws {
        try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
    }

    @Test func aQueryInItsReplyOut() throws {
        let channel = try connection()
        let q = query("svc1.testns.svc.cluster.local.", .a, id: 0x1234)
        try send(channel, framed(q))
        let replies = try written(channel)
        #expect(replies == [expected(q)])
        let m = try Message(decoding: Array(replies[0].dropFirst(2)))
        #expect(m.header.id == 0x1234)
        #expect(m.answers.map(\.rdata) == [.a(IPAddress("10.0.0.1")!)])
        _ = try? channel.finish()
    }

    /// RFC 7766 §8: "DNS clients and servers SHOULD pass the two-octet length field, and the
    /// message described by that length field, to the TCP layer at the same time" — but a
    /// server cannot count on it: a query split across reads is answered once it is whole.
    @Test func aQuerySplitAcrossReads() throws {
        let channel = try connection()
        let whole = framed(query("svc1.testns.svc.cluster.local.", .a, id: 7))
        try send(channel, [whole[0]])
        try send(channel, Array(whole[1..<6]))
        #expect(try written(channel).isEmpty, "nothing before the query is whole")
        try send(channel, Array(whole[6...]))
        #expect(try written(channel) == [expected(Array(whole.dropFirst(2)))])
        _ = try? channel.finish()
    }

    /// RFC 7766 §6.2.1.1: "a DNS server SHOULD process [pipelined queries] concurrently"; queries
    /// answered from our data come back in order, and the replies of one read go out as one write.
    @Test func pipelinedQueriesOneWrite() throws {
        let channel = try connection()
        let queries = [query("svc1.testns.svc.cluster.local.", .a, id: 1),
                       query("nosuch.testns.svc.cluster.local.", .a, id: 2),
                       query("_http._tcp.svc1.testns.svc.cluster.local.", .srv, id: 3)]
        try send(channel, queries.flatMap(framed))
        let replies = try written(channel)
        #expect(replies.count == 1, "one write for the read")
        #expect(replies.first == queries.flatMap(expected))
        _ = try? channel.finish()
    }

    /// A length that cannot hold a header (RFC 1035 §4.1.1: 12 bytes) ends the connection; it
    /// is not answered.
    @Test func aLengthUnderAHeaderCloses() throws {
        let channel = try connection()
        try send(channel, [0, 5, 1, 2, 3, 4, 5])
        #expect(try written(channel).isEmpty)
        #expect(!channel.isActive)
    }

    /// `--tcp-max-queries`: after that many queries the connection is closed, once the replies
    /// are written; queries after them are not answered.
    @Test func maxQueriesPerConnection() throws {
        let channel = try connection(maxQueries: 2)
        let queries = (1...3).map { query("svc1.testns.svc.cluster.local.", .a, id: UInt16($0)) }
        try send(channel, queries.flatMap(framed))
        let replies = try written(channel)
        #expect(replies.joined().elementsEqual(queries.prefix(2).flatMap(expected)))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "closed after its second reply")
    }
}
