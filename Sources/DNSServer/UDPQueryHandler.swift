import DNSResponder
import DNSWire
import Forwarding
import NIOCore
import RecordIndex

/// One per UDP socket, confined to its event loop. Answers synchronously in `channelRead` and
/// flushes once per read batch (DESIGN.md, "a query's path").
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let store: SnapshotStore
    private let processor: QueryProcessor
    private let counters: ServerCounters
    private let recorder: QueryRecorder
    private let forwarder: Forwarder?
    private var pending = false

    init(store: SnapshotStore, processor: QueryProcessor, counters: ServerCounters, recorder: QueryRecorder, forwarder: Forwarder?) {
        self.store = store
        self.processor = processor
        self.counters = counters
        self.recorder = recorder
        self.forwarder = forwarder
    }

    /// Ports of echo, daytime, chargen and time, and 0: replies to them feed reflection loops
    /// (BIND `ns_client_dropport`, reliability.md §2.1).
    static let reservedPorts: Set<Int> = [0, 7, 13, 19, 37]

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if let port = envelope.remoteAddress.port, Self.reservedPorts.contains(port) {
            counters.droppedReservedPort.add(1, ordering: .relaxed)
            return
        }
        let started = recorder.active ? MonotonicClock.nanoseconds() : 0
        var buffer = envelope.data
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        counters.queriesUDP.add(1, ordering: .relaxed)
        switch processor.respond(to: bytes, transport: .udp, snapshot: store.snapshot) {
        case .drop(let reason):
            counters.countDrop(reason)
        case .reply(let reply, let info):
            if info.rcode == .formErr { counters.formErrReplies.add(1, ordering: .relaxed) }
            send(reply, info, to: envelope.remoteAddress, requestSize: bytes.count, started: started, context: context)
        case .forward(let request):
            guard let forwarder else { return }
            if let cached = forwarder.cachedReply(request) {
                send(cached.bytes, cached.info, to: envelope.remoteAddress, requestSize: bytes.count, started: started, context: context)
                return
            }
            // Upstream: the reply is written when it comes, on this loop, flushed on its own.
            let channel = context.channel, recorder = self.recorder, client = envelope.remoteAddress, size = bytes.count
            forwarder.resolve(request, on: context.eventLoop).whenSuccess { reply in
                if recorder.active {
                    recorder.record(reply.info, client: client, requestSize: size, responseSize: reply.bytes.count, started: started)
                }
                let out = channel.allocator.buffer(bytes: reply.bytes)
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: out), promise: nil)
            }
        }
    }

    private func send(_ reply: [UInt8], _ info: QueryProcessor.ReplyInfo, to client: SocketAddress, requestSize: Int, started: UInt64,
                      context: ChannelHandlerContext) {
        if recorder.active {
            recorder.record(info, client: client, requestSize: requestSize, responseSize: reply.count, started: started)
        }
        let out = context.channel.allocator.buffer(bytes: reply)
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: out)), promise: nil)
        pending = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pending {
            pending = false
            context.flush()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port-unreachable and the like surface here; a UDP socket keeps serving.
    }
}
