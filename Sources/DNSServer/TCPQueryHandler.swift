import DNSResponder
import DNSWire
import Forwarding
import NIOCore
import RecordIndex

/// One per TCP connection. Pipelined queries are answered in order as they are decoded (RFC 7766
/// §6.2.1.1); the idle timer closes connections without a complete query in time; a client that
/// stops reading is paused, then closed, so it holds at most one write buffer (reliability.md §2.5).
final class TCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let store: SnapshotStore
    private let processor: QueryProcessor
    private let counters: ServerCounters
    private let recorder: QueryRecorder
    private let maxQueries: Int
    private let stallTimeout: TimeAmount
    private let forwarder: Forwarder?
    private var answered = 0
    private var lastWrite: EventLoopFuture<Void>?
    private var stallTimer: Scheduled<Void>?
    /// Queries waiting for an upstream: their replies are written out of order as they come
    /// (RFC 7766 §6.2.1.1), and the connection is not closed under them.
    private var forwarding = 0
    private var closing = false

    init(store: SnapshotStore, processor: QueryProcessor, counters: ServerCounters, recorder: QueryRecorder, forwarder: Forwarder?,
         maxQueries: Int, stallTimeout: TimeAmount) {
        self.store = store
        self.processor = processor
        self.counters = counters
        self.recorder = recorder
        self.forwarder = forwarder
        self.maxQueries = maxQueries
        self.stallTimeout = stallTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let started = recorder.active ? MonotonicClock.nanoseconds() : 0
        var frame = unwrapInboundIn(data)
        let bytes = frame.readBytes(length: frame.readableBytes) ?? []
        counters.queriesTCP.add(1, ordering: .relaxed)
        switch processor.respond(to: bytes, transport: .tcp, snapshot: store.snapshot) {
        case .drop(let reason):
            counters.countDrop(reason)
        case .reply(let reply, let info):
            if info.rcode == .formErr { counters.formErrReplies.add(1, ordering: .relaxed) }
            write(reply, info, requestSize: bytes.count, started: started, channel: context.channel)
        case .forward(let request):
            guard let forwarder else { break }
            if let cached = forwarder.cachedReply(request) {
                write(cached.bytes, cached.info, requestSize: bytes.count, started: started, channel: context.channel)
                break
            }
            forwarding += 1
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop), channel = context.channel, size = bytes.count
            forwarder.resolve(request, on: context.eventLoop).whenSuccess { reply in
                let handler = bound.value
                handler.forwarding -= 1
                handler.write(reply.bytes, reply.info, requestSize: size, started: started, channel: channel)
                channel.flush()
                if handler.closing && handler.forwarding == 0 { handler.closeAfterWrites(channel) }
            }
        }
        answered += 1
        if answered >= maxQueries {
            // Enough for one connection: finish what is written, then close.
            context.flush()
            closeWhenAnswered(context.channel)
        }
    }

    private func write(_ reply: [UInt8], _ info: QueryProcessor.ReplyInfo, requestSize: Int, started: UInt64, channel: Channel) {
        if recorder.active, let client = channel.remoteAddress {
            recorder.record(info, client: client, requestSize: requestSize, responseSize: reply.count, started: started)
        }
        var out = channel.allocator.buffer(capacity: reply.count + 2)
        out.writeInteger(UInt16(reply.count))
        out.writeBytes(reply)
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.write(out, promise: promise)
        lastWrite = promise.futureResult
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else if let e = event as? ChannelEvent, e == .inputClosed {
            context.flush()
            closeWhenAnswered(context.channel)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
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

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Bad framing, resets: this connection ends, no one else is affected.
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
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
        if let lastWrite {
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }
}
