import DNSResponder
import DNSWire
import NIOCore
import RecordIndex

/// RFC 1035 §4.2.2 / RFC 7766 framing: a two-byte length, then the message. A length under 12
/// cannot hold a header: the connection is closed.
struct DNSFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct BadLength: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        guard length >= 12 else { throw BadLength() }
        guard buffer.readableBytes >= Int(length) + 2 else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // Answer every complete query that arrived before the client half-closed.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

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
    private var answered = 0
    private var lastWrite: EventLoopFuture<Void>?
    private var stallTimer: Scheduled<Void>?

    init(store: SnapshotStore, processor: QueryProcessor, counters: ServerCounters, recorder: QueryRecorder, maxQueries: Int, stallTimeout: TimeAmount) {
        self.store = store
        self.processor = processor
        self.counters = counters
        self.recorder = recorder
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
            if recorder.active, let client = context.channel.remoteAddress {
                recorder.record(info, client: client, requestSize: bytes.count, responseSize: reply.count, started: started)
            }
            var out = context.channel.allocator.buffer(capacity: reply.count + 2)
            out.writeInteger(UInt16(reply.count))
            out.writeBytes(reply)
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.write(wrapOutboundOut(out), promise: promise)
            lastWrite = promise.futureResult
        }
        answered += 1
        if answered >= maxQueries {
            // Enough for one connection: finish what is written, then close.
            context.flush()
            closeAfterWrites(context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else if let e = event as? ChannelEvent, e == .inputClosed {
            context.flush()
            closeAfterWrites(context)
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

    private func closeAfterWrites(_ context: ChannelHandlerContext) {
        let channel = context.channel
        if let lastWrite {
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }
}
