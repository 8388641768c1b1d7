import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import StatusSyncCore

/// The HTTP client every provider shares: explicit timeouts, redirects never followed (a token is
/// only ever sent to the configured origin), bounded response bodies.
public final class ProviderHTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: Data

        public func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    public enum Failure: Error, Sendable {
        /// No HTTP response: connect/read timeout, refused, reset, DNS.
        case transport(String)
    }

    let client: HTTPClient
    let timeout: Duration
    public static let maxBodyBytes = 256 * 1024

    /// - Parameters:
    ///   - timeout: the whole call (connect, request, response).
    ///   - connectionsPerHost: kept-alive connections per host (the delivery concurrency).
    ///   - verifyCertificates: false accepts any TLS certificate (the Argo Server's self-signed
    ///     one inside a cluster, `argoServer.insecureSkipVerify`); never for a git host.
    public init(timeout: Duration, connectionsPerHost: Int = 8, verifyCertificates: Bool = true) {
        self.timeout = timeout
        let seconds = max(1, Int64(timeout.components.seconds))
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(min(seconds, 10)), read: .seconds(seconds))
        )
        // Fail a refused connection at once: the delivery loop (and, for the relay, the agent)
        // retries with its own backoff and records every attempt.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, connectionsPerHost)
        configuration.decompression = .enabled(limit: .size(4 * 1024 * 1024))
        configuration.httpVersion = .http1Only
        if !verifyCertificates {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            configuration.tlsConfiguration = tls
        }
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func send(method: HTTPMethod, url: String, headers: [(String, String)], body: Data?) async -> Result<Response, Failure> {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let ms = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        do {
            let response = try await client.execute(request, timeout: .milliseconds(ms))
            // Past maxBodyBytes the rest is not read: the answer's status decides, and a call that
            // was carried out is not retried because its echo was large.
            var body = Data()
            for try await var chunk in response.body {
                let take = min(chunk.readableBytes, Self.maxBodyBytes - body.count)
                body.append(contentsOf: chunk.readBytes(length: take) ?? [])
                if body.count >= Self.maxBodyBytes { break }
            }
            return .success(Response(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: body))
        } catch let error as HTTPClientError {
            return .failure(.transport(Self.describe(error)))
        } catch {
            return .failure(.transport(String(describing: error).excerpt(200)))
        }
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    static func describe(_ error: HTTPClientError) -> String {
        switch error {
        case .connectTimeout: return "connect timeout"
        case .readTimeout: return "read timeout"
        case .deadlineExceeded: return "no response within the delivery timeout"
        case .remoteConnectionClosed: return "the provider closed the connection"
        default: return String(describing: error).excerpt(200)
        }
    }
}
