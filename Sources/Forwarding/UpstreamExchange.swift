import DNSWire
import NIOCore
import NIOPosix

/// One question sent to one upstream, and the checks a reply must pass (reliability.md §1.3,
/// §2.6): the source address and port it was sent to, the ID, QR, and the question's name, type
/// and class. Anything else is counted and ignored while we keep waiting for the real reply
/// (TuDoor, CVE-2023-28452: taking the first packet lets a spoofer win).
struct UpstreamQuery: Sendable {
    /// Random per query, from the system's CSPRNG (CVE-2019-19794: predictable IDs).
    let id: UInt16
    let bytes: [UInt8]
    /// The name as sent: letters in random case (DNS 0x20). A query of ours that comes back to
    /// us carries this exact spelling, which is how a forwarding loop is recognised.
    let question: Question
    /// Letters in the name: the strength of that spelling as a signature.
    let letters: Int

    init(_ key: CacheKey) {
        var rng = SystemRandomNumberGenerator()
        id = UInt16.random(in: 0...UInt16.max, using: &rng)
        var wire = key.name.wire
        var letters = 0, upper = 0
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            for j in (i + 1)...(i + len) {
                let b = wire[j] | 0x20
                guard b >= 0x61 && b <= 0x7A else { continue }
                letters += 1
                if Bool.random(using: &rng) { wire[j] = b & ~0x20; upper += 1 } else { wire[j] = b }
            }
            i += len + 1
        }
        if letters > 0 && upper == 0, let first = wire.firstIndex(where: { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) {
            wire[first] &= ~0x20  // at least one capital: a client sending all lower case never matches
        }
        self.letters = letters
        question = Question(name: DNSName(validatedWire: wire), type: RecordType(key.type), recordClass: RecordClass(rawValue: key.recordClass))
        var header = Header()
        header.id = id
        header.recursionDesired = true
        header.checkingDisabled = key.checkingDisabled
        var w = MessageWriter(limit: 65535, header: header)
        w.appendQuestion(question)
        // EDNS with the DNS Flag Day size; DO asks for the DNSSEC records the client wants.
        bytes = w.finish(edns: EDNS(udpPayloadSize: 1232, dnssecOK: key.dnssecOK))
    }

    /// The question's bytes as the client that loops would send them.
    var signature: [UInt8] { question.name.wire + [UInt8(question.type.rawValue >> 8), UInt8(question.type.rawValue & 0xFF),
                                                   UInt8(question.recordClass.rawValue >> 8), UInt8(question.recordClass.rawValue & 0xFF)] }

    enum Check {
        case accepted(Message)
        case ignored(IgnoredReply)
    }

    func check(_ bytes: [UInt8]) -> Check {
        guard bytes.count >= Header.size else { return .ignored(.malformed) }
        let header = Header(bytes: bytes)
        guard header.id == id else { return .ignored(.wrongID) }
        guard header.isResponse, header.opcode == .query else { return .ignored(.malformed) }
        // coredns#5202: a reply without its question is malformed, not a crash.
        guard header.qdCount == 1 else { return .ignored(header.qdCount == 0 ? .malformed : .wrongQuestion) }
        var reader = WireReader(bytes, offset: Header.size)
        guard let q = try? reader.readQuestion() else { return .ignored(.malformed) }
        guard q.name == question.name, q.type == question.type, q.recordClass == question.recordClass else {
            return .ignored(.wrongQuestion)
        }
        guard let message = try? Message(decoding: unspelled(bytes)) else { return .ignored(.malformed) }
        return .accepted(message)
    }

    /// The reply with our random spelling taken back out: the question and every name written out
    /// with a suffix of it (an MX or SOA name compressed against the question, an uncompressed
    /// copy) in lower case, so the cache never hands one client's 0x20 pattern to another.
    func unspelled(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        let name = question.name.wire
        var start = 0
        while name[start] != 0 {
            let suffix = name[start...]
            if suffix.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) {
                var i = Header.size
                while i + suffix.count <= out.count {
                    if out[i] == suffix.first!, out[i..<(i + suffix.count)].elementsEqual(suffix) {
                        for k in i..<(i + suffix.count) where out[k] >= 0x41 && out[k] <= 0x5A { out[k] |= 0x20 }
                        i += suffix.count
                    } else {
                        i += 1
                    }
                }
            }
            start += Int(name[start]) + 1
        }
        return out
    }
}

/// Why an upstream packet was ignored: the `reason` of `clusterdns_forward_ignored_replies_total`.
public enum IgnoredReply: String, Sendable, CaseIterable {
    case wrongSource = "wrong_source"
    case wrongID = "wrong_id"
    case wrongQuestion = "wrong_question"
    case malformed
}

enum ExchangeError: Error, CustomStringConvertible {
    case timeout
    case closed
    case network(String)

    var description: String {
        switch self {
        case .timeout: "timed out"
        case .closed: "connection closed before a reply"
        case .network(let s): s
        }
    }
}

enum UpstreamExchange {
    /// Sends `query` and waits for the reply that passes every check, or the timeout. UDP uses a
    /// new socket on a kernel-chosen (randomised) port per query, so an off-path spoofer has to
    /// guess the port as well as the ID.
    static func run(_ query: UpstreamQuery, to address: SocketAddress, tcp: Bool, timeout: TimeAmount, on loop: EventLoop,
                    ignored: @escaping @Sendable (IgnoredReply) -> Void) -> EventLoopFuture<Message> {
        let promise = loop.makePromise(of: Message.self)
        let timer = loop.scheduleTask(in: timeout) { promise.fail(ExchangeError.timeout) }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        let channel: EventLoopFuture<Channel>
        if tcp {
            channel = ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(TCPReplyHandler(query: query, promise: promise, ignored: ignored))
                    }
                }
                .connect(to: address)
        } else {
            channel = DatagramBootstrap(group: loop)
                // Room for a reply over the 1232 bytes we offer: some upstreams send up to 4096
                // anyway, and a datagram cut short would read as malformed.
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UDPReplyHandler(query: query, upstream: address, promise: promise, ignored: ignored))
                    }
                }
                .bind(host: address.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
                .flatMap { channel in
                    let out = channel.allocator.buffer(bytes: query.bytes)
                    return channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: out)).map { channel }
                }
        }
        channel.whenComplete { result in
            switch result {
            case .success(let c): promise.futureResult.whenComplete { _ in c.close(promise: nil) }
            case .failure(let error): promise.fail(ExchangeError.network("\(error)"))
            }
        }
        return promise.futureResult
    }
}

final class UDPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let query: UpstreamQuery
    let upstream: SocketAddress
    let promise: EventLoopPromise<Message>
    let ignored: @Sendable (IgnoredReply) -> Void

    init(query: UpstreamQuery, upstream: SocketAddress, promise: EventLoopPromise<Message>, ignored: @escaping @Sendable (IgnoredReply) -> Void) {
        self.query = query
        self.upstream = upstream
        self.promise = promise
        self.ignored = ignored
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == upstream else { return ignored(.wrongSource) }
        var buffer = envelope.data
        switch query.check(buffer.readBytes(length: buffer.readableBytes) ?? []) {
        case .accepted(let m): promise.succeed(m)
        case .ignored(let reason): ignored(reason)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(ExchangeError.network("\(error)"))
    }

    /// Closed before a reply (the event loops shutting down): the question ends here rather than
    /// waiting on a timer that will not fire, whose waiters would otherwise hold the forwarder.
    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ExchangeError.closed)
        context.fireChannelInactive()
    }
}

final class TCPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let query: UpstreamQuery
    let promise: EventLoopPromise<Message>
    let ignored: @Sendable (IgnoredReply) -> Void

    init(query: UpstreamQuery, promise: EventLoopPromise<Message>, ignored: @escaping @Sendable (IgnoredReply) -> Void) {
        self.query = query
        self.promise = promise
        self.ignored = ignored
    }

    func channelActive(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: query.bytes.count + 2)
        out.writeInteger(UInt16(query.bytes.count))
        out.writeBytes(query.bytes)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        switch query.check(frame.readBytes(length: frame.readableBytes) ?? []) {
        case .accepted(let m): promise.succeed(m)
        case .ignored(let reason): ignored(reason)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ExchangeError.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(ExchangeError.network("\(error)"))
        context.close(promise: nil)
    }
}

/// Bound to its channel's event loop: never shared across threads.
@available(*, unavailable)
extension UDPReplyHandler: Sendable {}

/// Bound to its channel's event loop: never shared across threads.
@available(*, unavailable)
extension TCPReplyHandler: Sendable {}
