import Foundation
import Hummingbird
import NIOCore
import StatusSyncCore

enum JSONResponse {
    /// Built once: every reply carries the same header.
    private static let headers: HTTPFields = [.contentType: "application/json"]

    static func make(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `{"error":"…"}` for HTTP-level rejections (400, 403, 413, 503).
    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var out = "{\"error\":"
        JSONValue.writeQuoted(message, into: &out)
        return make(status, out + "}")
    }
}
