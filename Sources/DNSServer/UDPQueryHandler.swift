import DNSResponder
import DNSWire
import Forwarding
import NIOCore
import RecordIndex

/// One per UDP socket, confined to its event loop. Answers synchronously in `channelRead`:
/// the common answers straight from the received bytes into this handler's reply arena
/// (`QueryProcessor.respondDirect`, no allocation), the rest the long way. The replies of a
/// read batch are sent, as slices of the arena, when the batch ends, with one flush
/// (DESIGN.md, "a query's path").
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private var view: SnapshotStore.View
    private let processor: QueryProcessor
    private let counters: ServerCounters
    private let recorder: QueryRecorder
    private let forwarder: Forwarder?
    private let loadBalance: Bool
    private var rotation = 0
    /// Replies of the current read batch, back to back; sent at `channelReadComplete`.
    private var arena: ByteBuffer
    /// Where each reply of the batch goes, in arena order (kept capacity: no allocation).
    private var destinations: [(SocketAddress, Int)] = []

    /// Room kept free for one direct reply; larger ones take the long way.
    static let arenaSize = 64 << 10

    init(store: SnapshotStore, processor: QueryProcessor, counters: ServerCounters, recorder: QueryRecorder, forwarder: Forwarder?,
         loadBalance: Bool, allocator: ByteBufferAllocator) {
        self.view = SnapshotStore.View(store)
        self.processor = processor
        self.counters = counters
        self.recorder = recorder
        self.forwarder = forwarder
        self.loadBalance = loadBalance
        self.arena = allocator.buffer(capacity: Self.arenaSize)
        destinations.reserveCapacity(256)
    }

    /// Ports of echo, daytime, chargen and time, and 0: replies to them feed reflection loops
    /// (BIND `ns_client_dropport`, reliability.md §2.1).
    static func isReservedPort(_ port: Int) -> Bool {
        switch port {
        case 0, 7, 13, 19, 37: return true
        default: return false
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if let port = envelope.remoteAddress.port, Self.isReservedPort(port) {
            counters.droppedReservedPort.add(1, ordering: .relaxed)
            return
        }
        let started = recorder.active ? MonotonicClock.nanoseconds() : 0
        let snapshot = view.current()
        if loadBalance { rotation &+= 1 }
        let client = envelope.remoteAddress, size = envelope.data.readableBytes

        // The direct path: into the arena, or nil (nothing kept) for the long way.
        if arena.writableBytes < processor.udpSize { send(context) }
        var direct: QueryProcessor.DirectReply?
        let processor = self.processor, rotation = self.rotation
        envelope.data.withUnsafeReadableBytes { query in
            arena.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { out in
                direct = processor.respondDirect(to: query, into: out, transport: .udp, snapshot: snapshot, rotation: rotation)
                return direct?.count ?? 0
            }
        }
        if let direct {
            destinations.append((client, direct.count))
            if recorder.active {
                recorder.record(rcode: direct.rcode, type: direct.type, zone: direct.zone, client: client, requestSize: size,
                                responseSize: direct.count, started: started, name: Self.questionName(envelope.data))
            }
            return
        }

        let bytes = Array(envelope.data.readableBytesView)
        switch processor.respond(to: bytes, transport: .udp, snapshot: snapshot, rotation: rotation) {
        case .drop(let reason):
            counters.countDrop(reason)
        case .reply(let reply, let info):
            if info.rcode == .formErr { counters.formErrReplies.add(1, ordering: .relaxed) }
            if recorder.active {
                recorder.record(info, client: client, requestSize: size, responseSize: reply.count, started: started)
            }
            if arena.writableBytes < reply.count { send(context) }
            arena.writeBytes(reply)
            destinations.append((client, reply.count))
        case .forward(let request):
            guard let forwarder else { return }
            if let cached = forwarder.cachedReply(request) {
                if recorder.active {
                    recorder.record(cached.info, client: client, requestSize: size, responseSize: cached.bytes.count, started: started)
                }
                if arena.writableBytes < cached.bytes.count { send(context) }
                arena.writeBytes(cached.bytes)
                destinations.append((client, cached.bytes.count))
                return
            }
            // Upstream: the reply is written when it comes, on this loop, flushed on its own.
            let channel = context.channel, recorder = self.recorder
            forwarder.resolve(request, on: context.eventLoop).whenSuccess { reply in
                if recorder.active {
                    recorder.record(reply.info, client: client, requestSize: size, responseSize: reply.bytes.count, started: started)
                }
                let out = channel.allocator.buffer(bytes: reply.bytes)
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: out), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        send(context)
    }

    /// Writes the batch's replies as slices of the arena and flushes, then starts the arena
    /// over: once the socket has taken them (the usual case) its storage is ours again, so the
    /// next batch allocates nothing.
    private func send(_ context: ChannelHandlerContext) {
        guard !destinations.isEmpty else { return }
        for (client, count) in destinations {
            guard let reply = arena.readSlice(length: count) else { break }
            context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: client, data: reply)), promise: nil)
        }
        destinations.removeAll(keepingCapacity: true)
        context.flush()
        arena.clear()
    }

    /// For the query log only.
    static func questionName(_ datagram: ByteBuffer) -> String {
        var reader = WireReader(Array(datagram.readableBytesView), offset: Header.size)
        return (try? reader.readQuestion().name.description) ?? "-"
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port-unreachable and the like surface here; a UDP socket keeps serving.
    }
}
