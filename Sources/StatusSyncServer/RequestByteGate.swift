import NIOCore

/// The front of each connection's pipeline, before the HTTP decoder: tells the
/// `HTTPConnectionGuard` when bytes arrive (a request's clock starts at its first byte, before
/// any header is complete), and drops them once the guard is ending the connection.
final class RequestByteGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: HTTPConnectionGuard

    init(connection: HTTPConnectionGuard) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if connection.bytesArrived() {
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // While the connection ends, the handlers above no longer ask for reads; ask here, so the
        // client's remaining bytes are drained and its close is seen.
        if connection.phase == .lingering {
            context.read()
        }
        context.fireChannelReadComplete()
    }
}
