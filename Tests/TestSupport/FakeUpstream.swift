import DNSWire
import Dispatch
import NIOCore
import NIOPosix
import Synchronization

/// An upstream resolver on loopback (UDP and TCP on one port) that misbehaves on demand, for the
/// forwarder's tests (reliability.md §2.6, item 9): silent, SERVFAIL, truncating over UDP,
/// spoofing before the real reply, slow, relaying back to the server (a loop). It answers
/// `A 192.0.2.1` for any name, NXDOMAIN for names starting with `nx`, and NODATA for other types
/// (TXT: 40 long records, more than a UDP reply holds), and records every query it sees.
public final class FakeUpstream: Sendable {
    public enum Mode: Sendable, Equatable {
        case answer
        case silent
        case servFail
        /// TC=1 with no records over UDP; the whole answer over TCP.
        case truncateUDP
        /// Four forged replies (another source port, a wrong ID, a wrong question, no question)
        /// before the real one.
        case spoofFirst
        case delay(milliseconds: Int)
        /// Passes the query unchanged to a DNS server on this port and its reply back.
        case relay(port: Int)
        /// NXDOMAIN without an SOA: not cacheable.
        case nxWithoutSOA
    }

    public struct Seen: Sendable {
        public var id: UInt16
        public var sourcePort: Int
        /// As received: the case the sender chose.
        public var name: String
        public var type: RecordType
        public var tcp: Bool
        public var dnssecOK: Bool
        public var checkingDisabled: Bool
    }

    public let port: Int
    let state = State()
    let channels: [Channel]

    public init(group: EventLoopGroup) throws {
        var lastError: Error?
        let state = self.state
        let spoofer = try DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        for _ in 0..<10 {
            let port = ServerProcess.freePort()
            do {
                let udp = try DatagramBootstrap(group: group)
                    .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(UDPSide(state, spoofer: spoofer)) } }
                    .bind(host: "127.0.0.1", port: port).wait()
                let tcp: Channel
                do {
                    tcp = try ServerBootstrap(group: group)
                        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                        .childChannelInitializer { ch in
                            ch.eventLoop.makeCompletedFuture {
                                try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(Framing()))
                                try ch.pipeline.syncOperations.addHandler(TCPSide(state))
                            }
                        }
                        .bind(host: "127.0.0.1", port: port).wait()
                } catch {
                    try? udp.close().wait()
                    throw error
                }
                self.port = port
                channels = [udp, spoofer, tcp]
                return
            } catch {
                lastError = error
            }
        }
        try? spoofer.close().wait()
        throw lastError!
    }

    public func set(_ mode: Mode) { state.mode.withLock { $0 = mode } }
    public func setTTL(_ ttl: UInt32) { state.ttl.withLock { $0 = ttl } }
    public var queries: [Seen] { state.seen.withLock { $0 } }
    public func queries(named name: String) -> Int { queries.filter { $0.name.lowercased() == name.lowercased() }.count }

    public func stop() {
        for c in channels { try? c.close().wait() }
    }

    /// What the sockets share: the mode, the TTL, the queries seen.
    final class State: Sendable {
    let mode = Mutex<Mode>(.answer)
    let ttl = Mutex<UInt32>(300)
    let seen = Mutex<[Seen]>([])

    /// The reply to `query` (nil: none), noting it.
    func reply(to bytes: [UInt8], sourcePort: Int, tcp: Bool) -> [UInt8]? {
        guard let query = try? Message(decoding: bytes), let q = query.questions.first else { return nil }
        seen.withLock {
            $0.append(Seen(id: query.header.id, sourcePort: sourcePort, name: q.name.description, type: q.type, tcp: tcp,
                           dnssecOK: query.edns?.dnssecOK ?? false, checkingDisabled: query.header.checkingDisabled))
        }
        let mode = self.mode.withLock { $0 }
        var h = Header()
        h.id = query.header.id
        h.isResponse = true
        h.recursionDesired = query.header.recursionDesired
        h.recursionAvailable = true
        h.checkingDisabled = query.header.checkingDisabled
        var m = Message(header: h, questions: [q], edns: query.edns.map { _ in EDNS(udpPayloadSize: 1232) })
        let ttl = self.ttl.withLock { $0 }
        let zone = DNSName("fake.test.")!
        let soa = ResourceRecord(name: zone, ttl: 60, rdata: .soa(.init(mname: DNSName("ns.fake.test.")!, rname: DNSName("admin.fake.test.")!,
                                                                           serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60)))
        switch mode {
        case .silent: return nil
        case .servFail:
            m.header.rcodeLow = 2
            return m.encoded()
        case .truncateUDP where !tcp:
            m.header.truncated = true
            return m.encoded()
        default: break
        }
        if String(decoding: q.name.firstLabel, as: UTF8.self).lowercased().hasPrefix("nx") {
            m.header.rcodeLow = 3
            if mode != .nxWithoutSOA { m.authority = [soa] }
        } else if q.type == .a {
            m.answers = [ResourceRecord(name: q.name, ttl: ttl, rdata: .a(IPAddress("192.0.2.1")!))]
        } else if q.type == .txt {
            m.answers = (0..<40).map { i in ResourceRecord(name: q.name, ttl: ttl, rdata: .txt([Array("record \(i) \(String(repeating: "x", count: 60))".utf8)])) }
        } else {
            m.authority = [soa]
        }
        return m.encoded()
    }

    /// The forged replies sent before the real one in `.spoofFirst`.
    func forgeries(for bytes: [UInt8]) -> (otherPort: [UInt8], wrongID: [UInt8], wrongQuestion: [UInt8], noQuestion: [UInt8])? {
        guard let query = try? Message(decoding: bytes), let q = query.questions.first else { return nil }
        var h = Header()
        h.id = query.header.id
        h.isResponse = true
        h.recursionAvailable = true
        let poison = ResourceRecord(name: q.name, ttl: 86400, rdata: .a(IPAddress("6.6.6.6")!))
        let good = Message(header: h, questions: [q], answers: [poison])
        var wrongID = good
        wrongID.header.id = query.header.id &+ 1
        var wrongQuestion = good
        wrongQuestion.questions = [Question(name: DNSName("other.fake.test.")!, type: q.type)]
        var noQuestion = good
        noQuestion.questions = []
        return (good.encoded(), wrongID.encoded(), wrongQuestion.encoded(), noQuestion.encoded())
    }
    }

    final class UDPSide: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let owner: State
        let spoofer: Channel
        init(_ owner: State, spoofer: Channel) {
            self.owner = owner
            self.spoofer = spoofer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            var buffer = envelope.data
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let client = envelope.remoteAddress
            let channel = context.channel
            @Sendable func send(_ reply: [UInt8], on ch: Channel = channel) {
                ch.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: ch.allocator.buffer(bytes: reply)), promise: nil)
            }
            switch owner.mode.withLock({ $0 }) {
            case .relay(let port):
                _ = owner.reply(to: bytes, sourcePort: client.port ?? 0, tcp: false)
                DispatchQueue.global().async {
                    if let reply = DNSClient.udp(bytes, port: port, timeout: 3) { send(reply) }
                }
            case .delay(let ms):
                guard let reply = owner.reply(to: bytes, sourcePort: client.port ?? 0, tcp: false) else { return }
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) { send(reply) }
            case .spoofFirst:
                guard let f = owner.forgeries(for: bytes), let reply = owner.reply(to: bytes, sourcePort: client.port ?? 0, tcp: false) else { return }
                send(f.otherPort, on: spoofer)
                send(f.wrongID)
                send(f.wrongQuestion)
                send(f.noQuestion)
                // The real reply a little later, so the forgeries surely arrive first.
                context.eventLoop.scheduleTask(in: .milliseconds(50)) { send(reply) }
            default:
                if let reply = owner.reply(to: bytes, sourcePort: client.port ?? 0, tcp: false) { send(reply) }
            }
        }
    }

    struct Framing: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer
        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self), buffer.readableBytes >= Int(length) + 2 else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 2)
            context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
            return .continue
        }
    }

    final class TCPSide: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let owner: State
        init(_ owner: State) { self.owner = owner }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var frame = unwrapInboundIn(data)
            let bytes = frame.readBytes(length: frame.readableBytes) ?? []
            guard let reply = owner.reply(to: bytes, sourcePort: context.channel.remoteAddress?.port ?? 0, tcp: true) else { return }
            var out = context.channel.allocator.buffer(capacity: reply.count + 2)
            out.writeInteger(UInt16(reply.count))
            out.writeBytes(reply)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
    }
}
