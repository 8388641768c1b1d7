import Foundation
import HTTPTypes
import Hummingbird
import StatusSyncCore

/// Every dashboard response: read-only methods, the token when one is set, and headers that keep
/// the pages from loading anything else or being framed.
struct DashboardGuard<Context: RequestContext>: RouterMiddleware {
    let token: String?

    static var securityHeaders: HTTPFields {
        [
            .contentSecurityPolicy: "default-src 'none'; style-src 'self'",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            .cacheControl: "no-store",
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        if request.method != .get && request.method != .head {
            response = Self.plain(.methodNotAllowed, "the dashboard is read-only: only GET and HEAD are answered\n")
            response.headers[.allow] = "GET, HEAD"
        } else if let token, !Self.authorized(request.headers[.authorization], token: token) {
            response = Self.plain(.unauthorized, "this dashboard asks for its token: any user name, the token as password\n")
            response.headers[.wwwAuthenticate] = "Basic realm=\"statussync\""
        } else {
            do {
                response = try await next(request, context)
            } catch let error as HTTPError {
                response = Self.plain(error.status, (error.body ?? error.status.reasonPhrase) + "\n")
            }
        }
        for field in Self.securityHeaders { response.headers[field.name] = field.value }
        return response
    }

    /// HTTP Basic with the token as password (any user name), compared in constant time.
    static func authorized(_ header: String?, token: String) -> Bool {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic ",
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return false }
        return ConstantTime.equals(decoded[decoded.index(after: colon)...], token.utf8)
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
