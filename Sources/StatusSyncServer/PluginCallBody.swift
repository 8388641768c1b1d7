import Foundation
import Hummingbird
import NIOCore
import StatusSyncCore

/// Reads the body of a `template.execute` call, as serve and relay both do: at most `limit`
/// bytes (else 413) holding an ExecuteTemplateArgs object (else 400). The error response names
/// `who` answered ("statussync", "statussync relay").
enum PluginCallBody {
    static func read(_ request: Request, limit: Int, who: String) async -> Result<(data: Data, args: ExecuteTemplateArgs), Rejection> {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            return .failure(Rejection(response: JSONResponse.error(.contentTooLarge,
                "\(who): request body larger than \(limit) bytes; keep the plugin body small (raise maxBodyBytes in the config if needed)")))
        } catch {
            // Cut short: the client went away or did not send it within http.requestTimeout.
            return .failure(Rejection(response: JSONResponse.error(.badRequest, "\(who): the request body did not arrive in full (\(error))")))
        }
        let data = Data(buffer: buffer)
        do {
            return .success((data, try ExecuteTemplateArgs.parse(data)))
        } catch {
            return .failure(Rejection(response: JSONResponse.error(.badRequest, "\(who): \(error.message)")))
        }
    }

    /// An HTTP-level rejection (413 or 400); nothing is recorded.
    struct Rejection: Error {
        let response: Response
    }
}
