import DNSResponder
import DNSWire
import NIOCore
import RecordIndex
import Synchronization

/// One per TCP connection. Pipelined queries are answered in order as they are decoded (RFC 7766
/// §6.2.1.1), the common ones straight into this connection's reply arena (no allocation), and
/// the replies of one read go out as one write; the idle timer closes connections without a
/// complete query in time; a client that stops reading is paused, then closed, so it holds at
/// most one write buffer (reliability.md §2.5).
package final class TCPQueryHandler: ChannelInboundHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private var view: SnapshotStore.View
    private let dispatch: QueryDispatch
    private var processor: QueryProcessor { dispatch.processor }
    private let counters: ServerCounters
    private let recorder: QueryRecorder
    private let maxQueries: Int
    private let stallTimeout: TimeAmount
    private var answered = 0
    private let loadBalance: Bool
    private var rotation = 0
    /// The peer's IP, read once per connection when autopath needs it.
    private var client: IPAddress?
    private var clientRead = false
    /// The peer's port, for whoami.
    private var clientPort: Int?
    /// Where each connection's rotation starts: clients often send one query per connection, so
    /// a count per connection alone would always start them at the same record.
    private static let connections = Atomic<Int>(0)
    /// Framed replies of the current read, back to back; written as one at its end.
    private var arena: ByteBuffer
    /// Room kept free for one direct reply (with its length): larger ones take the long way.
    static let directRoom = 4096
    private var stallTimer: Scheduled<Void>?
    /// Queries waiting for an upstream: their replies are written out of order as they come
    /// (RFC 7766 §6.2.1.1), and the connection is not closed under them.
    private var forwarding = 0
    private var closing = false

    package init(store: SnapshotStore, dispatch: QueryDispatch, counters: ServerCounters, recorder: QueryRecorder, maxQueries: Int, stallTimeout: TimeAmount, loadBalance: Bool, allocator: ByteBufferAllocator) {
        self.view = SnapshotStore.View(store)
        self.loadBalance = loadBalance
        self.rotation = loadBalance ? Self.connections.wrappingAdd(1, ordering: .relaxed).oldValue : 0
        self.arena = allocator.buffer(capacity: 2 * Self.directRoom)
        self.dispatch = dispatch
        self.counters = counters
        self.recorder = recorder
        self.maxQueries = maxQueries
        self.stallTimeout = stallTimeout
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Past the cap the connection is closing: queries pipelined behind the last one it
        // answers get no reply (found by TCPHandlerTests.maxQueriesPerConnection).
        guard maxQueries == 0 || answered < maxQueries else { return }
        let started = recorder.active ? MonotonicClock.nanoseconds() : 0
        if processor.autopath, !clientRead {
            clientRead = true
            client = context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)?.unmapped
        }
        let frame = unwrapInboundIn(data)
        let snapshot = view.current()
        if loadBalance { rotation &+= 1 }
        let size = frame.readableBytes

        if arena.writableBytes < Self.directRoom { sendPending(context) }
        var direct: QueryProcessor.DirectReply?
        let processor = self.processor, rotation = self.rotation
        _ = frame.withUnsafeReadableBytes { query in
            arena.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { out in
                // Two bytes of length first (RFC 1035 §4.2.2), then the reply.
                direct = processor.respondDirect(to: query, into: UnsafeMutableRawBufferPointer(rebasing: out[2...]), transport: .tcp,
                                                 snapshot: snapshot, rotation: rotation, client: client)
                guard let direct else { return 0 }
                out[0] = UInt8(truncatingIfNeeded: direct.count >> 8)
                out[1] = UInt8(truncatingIfNeeded: direct.count)
                return direct.count + 2
            }
        }
        if let direct {
            if recorder.active, let client = context.channel.remoteAddress {
                recorder.record(rcode: direct.rcode, type: direct.type, zone: direct.zone, inet6: client.protocol == .inet6,
                                client: QueryRecorder.format(client), requestSize: size, responseSize: direct.count, started: started,
                                name: QueryRecorder.questionName(frame.readableBytesView))
            }
        } else {
            answerLongWay(Array(frame.readableBytesView), started: started, snapshot: snapshot, context: context)
        }
        answered += 1
        if maxQueries > 0 && answered >= maxQueries {
            // Enough for one connection: finish what is written, then close.
            sendPending(context)
            closeWhenAnswered(context.channel)
        }
    }

    private func answerLongWay(_ bytes: [UInt8], started: UInt64, snapshot: Snapshot, context: ChannelHandlerContext) {
        // whoami: the peer, read here, off the direct path.
        if processor.wantsClientPort, clientPort == nil {
            let remote = context.channel.remoteAddress
            client = client ?? remote?.ipAddress.flatMap(IPAddress.init)?.unmapped
            clientPort = remote?.port
        }
        switch dispatch.handle(bytes, transport: .tcp, snapshot: snapshot, rotation: rotation, client: client, clientPort: clientPort,
                               loop: context.eventLoop) {
        case .drop:
            break
        case .reply(let reply):
            record(reply.info, requestSize: bytes.count, responseSize: reply.bytes.count, started: started, channel: context.channel)
            append(reply.bytes)
        case .later(let future):
            forwarding += 1
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop), channel = context.channel, size = bytes.count
            future.whenSuccess { reply in
                let handler = bound.value
                handler.forwarding -= 1
                handler.record(reply.info, requestSize: size, responseSize: reply.bytes.count, started: started, channel: channel)
                // Out of order (RFC 7766 §6.2.1.1), on its own: the arena belongs to a read.
                var out = channel.allocator.buffer(capacity: reply.bytes.count + 2)
                out.writeInteger(UInt16(reply.bytes.count))
                out.writeBytes(reply.bytes)
                channel.writeAndFlush(out, promise: nil)
                if handler.closing && handler.forwarding == 0 { handler.closeAfterWrites(channel) }
            }
        }
    }

    private func record(_ info: QueryProcessor.ReplyInfo, requestSize: Int, responseSize: Int, started: UInt64, channel: Channel) {
        if recorder.active, let client = channel.remoteAddress {
            recorder.record(info, client: client, requestSize: requestSize, responseSize: responseSize, started: started)
        }
    }

    private func append(_ reply: [UInt8]) {
        arena.writeInteger(UInt16(reply.count))
        arena.writeBytes(reply)
    }

    /// Writes the framed replies so far as one slice of the arena and flushes, then starts the
    /// arena over: once the socket took them (the usual case) its storage is ours again, so
    /// nothing is allocated.
    private func sendPending(_ context: ChannelHandlerContext) {
        guard arena.readableBytes > 0 else { return }
        writeReplies(context)
        arena.clear()
    }

    /// Separate so the slice is gone before `clear()` looks at who else holds the storage.
    @inline(never)
    private func writeReplies(_ context: ChannelHandlerContext) {
        guard let replies = arena.readSlice(length: arena.readableBytes) else { return }
        context.writeAndFlush(wrapOutboundOut(replies), promise: nil)
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        sendPending(context)
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else if let e = event as? ChannelEvent, e == .inputClosed {
            sendPending(context)
            closeWhenAnswered(context.channel)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallTimer?.cancel()
            stallTimer = nil
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            context.read()
        } else {
            // The client does not read its answers: stop reading its queries; close if it stays so.
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            let channel = context.channel
            stallTimer = context.eventLoop.scheduleTask(in: stallTimeout) {
                if !channel.isWritable { channel.close(promise: nil) }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Bad framing, resets: this connection ends, no one else is affected.
        context.close(promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        stallTimer?.cancel()
        counters.tcpOpen.subtract(1, ordering: .relaxed)
        context.fireChannelInactive()
    }

    /// Closes once every query read has its reply written, forwarded ones included.
    private func closeWhenAnswered(_ channel: Channel) {
        closing = true
        if forwarding == 0 { closeAfterWrites(channel) }
    }

    private func closeAfterWrites(_ channel: Channel) {
        // An empty write completes after every write before it: then close.
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(channel.allocator.buffer(capacity: 0), promise: written)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Bound to its channel's event loop: never shared across threads.
@available(*, unavailable)
extension TCPQueryHandler: Sendable {}
