import NIOCore

/// RFC 1035 §4.2.2 / RFC 7766 framing: a two-byte length, then the message. A length under 12
/// cannot hold a header: the connection is closed. Both sides use it: the
/// listeners for queries, the forwarder for upstream replies over TCP.
public struct DNSFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public init() {}

    struct BadLength: Error {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        guard length >= 12 else { throw BadLength() }
        guard buffer.readableBytes >= Int(length) + 2 else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // Answer every complete query that arrived before the client half-closed.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
