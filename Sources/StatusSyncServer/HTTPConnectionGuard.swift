import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// Decides when an HTTP/1.1 connection ends, so that no client can hold one by being slow,
/// idle or malformed (see docs/design.md#hostile-clients). It sits in each connection's
/// pipeline between the HTTP codec and Hummingbird's handlers, and works with
/// `RequestByteGate`, which sits in front of the HTTP decoder.
///
/// Why it exists: after answering, Hummingbird either drains the unread request body (a body
/// announced as 10 GB is read in full before the connection is let go) or, after a parse error,
/// half-closes its side and waits for the client to close. But by then nothing reads the socket
/// any more (NIO's async channel stops reading once its inbound stream has ended), so a client
/// whose body did not fit in the socket buffers can never get its FIN through the full window:
/// the connection, its descriptor and its buffers stay for good.
///
/// What it does:
/// - A response that ends before its request was fully received (an early 4xx, a parse error's
///   400) or that says `Connection: close` ends the connection: `Connection: close` is set on it,
///   our side is shut down once it is written, and whatever the client still sends is read and
///   dropped until it closes too, for at most `lingerTime`. Reading on is what lets the client's
///   FIN arrive; closing at once instead would reset the connection and could destroy the
///   response before the client has read it.
/// - A request not fully received within `requestTimeout` of its first byte is answered 408
///   (or, if a response has already begun, the connection is simply closed).
/// The idle timeout between requests is Hummingbird's (`HTTP1Channel.Configuration.idleTimeout`).
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How long a closing connection keeps reading (and dropping) what the client still sends,
    /// so that the response is not lost to a reset. The same half a second Go's net/http waits.
    static let lingerTime = TimeAmount.milliseconds(500)

    enum Phase {
        /// Requests are read and answered.
        case open
        /// Our side is shut down; input is read and dropped until the client closes or the linger ends.
        case lingering
        /// Closed or closing; nothing more is read or written.
        case closed
    }

    private let requestTimeout: TimeAmount
    private let logger: Logger
    private(set) var phase = Phase.open
    /// Bytes of a request have arrived and its end has not.
    private var requestOnWire = false
    /// The latest request's head was read and its end was not: its body is still arriving.
    private var bodyPending = false
    /// The latest request asked for `Connection: close`.
    private var clientWantsClose = false
    /// Request heads read, and responses finished, on this connection. A response answers the
    /// oldest request not answered yet (HTTP/1.1 pipelining), which may not be the latest.
    private var requestsStarted = 0
    private var responsesFinished = 0
    /// A response head was written and its end was not.
    private var responseInProgress = false
    private var closeAfterResponse = false
    private var requestClock: Scheduled<Void>?
    private var lingerClock: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(requestTimeout: TimeAmount, logger: Logger) {
        self.requestTimeout = requestTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelClocks()
        self.context = nil
    }

    // MARK: Inbound

    /// Called by `RequestByteGate` for every read from the socket, before the HTTP decoder sees
    /// it. Returns whether the bytes go on to the decoder (false: drop them).
    func bytesArrived() -> Bool {
        guard phase == .open else { return false }
        // The first byte of a request starts its clock, so headers that never end are caught too.
        // (Bytes of a request that share a read with the end of the one before start no clock
        // until its head or more bytes arrive; if none ever do, the idle timeout ends it.)
        if !requestOnWire {
            requestOnWire = true
            startRequestClock()
        }
        return true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard phase == .open else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            // The head of a pipelined request can follow the previous end in the same read.
            if !requestOnWire {
                requestOnWire = true
                startRequestClock()
            }
            requestsStarted += 1
            bodyPending = true
            clientWantsClose = Self.saysClose(head.headerFields[.connection])
        case .body:
            break
        case .end:
            requestOnWire = false
            bodyPending = false
            requestClock?.cancel()
            requestClock = nil
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Once the connection is ending, errors are about input we drop on purpose (the decoder
        // still reports a message cut short by the client's close).
        guard phase == .open else { return }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if phase == .lingering, case ChannelEvent.inputClosed = event {
            // The client has closed its side after our response: nothing left to wait for.
            finalClose(context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closed
        cancelClocks()
        context.fireChannelInactive()
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard phase == .open else {
            // The connection was ended here (408, or the response already went out): a late
            // response of the application has nowhere to go.
            promise?.fail(ChannelError.outputClosed)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            if head.status.kind == .informational {
                context.write(data, promise: promise)
                return
            }
            responseInProgress = true
            // Keeping the connection would mean reading the rest of the body first, however
            // large or slow it is; so an early answer ends the connection, and says so.
            let answersLatest = responsesFinished + 1 == requestsStarted
            if answersLatest && (bodyPending || clientWantsClose) || Self.saysClose(head.headerFields[.connection]) {
                closeAfterResponse = true
                head.headerFields[.connection] = "close"
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            responseInProgress = false
            responsesFinished += 1
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            context.writeAndFlush(data, promise: promise)
            beginClosing(context)
        }
    }

    // MARK: Ending the connection

    private func startRequestClock() {
        guard requestClock == nil, let context else { return }
        requestClock = context.eventLoop.assumeIsolated().scheduleTask(in: requestTimeout) { [self] in
            requestClock = nil
            requestTimedOut()
        }
    }

    private func requestTimedOut() {
        guard phase == .open, requestOnWire, let context else { return }
        logger.debug("request not received in time, closing the connection", metadata: [
            "requestTimeout": "\(requestTimeout)", "remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
        ])
        let earlierUnanswered = requestsStarted - responsesFinished - (bodyPending ? 1 : 0)
        guard !responseInProgress, earlierUnanswered == 0 else {
            // A 408 now would be taken as the answer to an earlier request, or would follow half
            // a response: close without one.
            finalClose(context)
            return
        }
        let head = HTTPResponse(status: .requestTimeout, headerFields: [.connection: "close", .contentLength: "0"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        beginClosing(context)
    }

    /// Shuts our side down once the response is written and reads on until the client closes,
    /// for at most `lingerTime`.
    private func beginClosing(_ context: ChannelHandlerContext) {
        guard phase == .open else { return }
        phase = .lingering
        requestClock?.cancel()
        requestClock = nil
        // Queued behind the response: the FIN follows the last byte of it.
        context.close(mode: .output, promise: nil)
        lingerClock = context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) { [self] in
            lingerClock = nil
            if let context = self.context { finalClose(context) }
        }
        // Nothing above us reads any more; without this read the client's FIN never arrives.
        context.read()
    }

    private func finalClose(_ context: ChannelHandlerContext) {
        guard phase != .closed else { return }
        phase = .closed
        cancelClocks()
        if bodyPending {
            // The application may still be reading this body: end it with an error, or a body
            // cut short would look complete.
            context.fireErrorCaught(RequestCutShort())
        }
        context.close(promise: nil)
    }

    private func cancelClocks() {
        requestClock?.cancel()
        requestClock = nil
        lingerClock?.cancel()
        lingerClock = nil
    }

    private static func saysClose(_ value: String?) -> Bool {
        guard let value else { return false }
        return value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
    }

    /// The connection was ended before the request's body had arrived in full.
    struct RequestCutShort: Error, CustomStringConvertible {
        var description: String { "the connection was closed before the request body had fully arrived" }
    }
}
