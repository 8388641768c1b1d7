import Foundation
import Testing

/// Clients that are slow, idle, malformed or gone, against the real binary over raw TCP
/// (docs/design.md#hostile-clients): none of them may keep a connection, a descriptor or its buffers.
@Suite("Hostile HTTP clients")
struct HostileClientsTests {
    /// A body far larger than the socket buffers, so that most of it is still unsent when the
    /// server answers: the case in which a server that stops reading never sees the client close.
    static let unsentBody = 600 * 1024

    /// Requests the HTTP parser rejects (400), each announcing or starting a large body.
    static let malformed: [(name: String, head: String)] = [
        ("oversized header", "POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100 * 1024))\r\nContent-Length: 600000\r\n\r\n"),
        ("bad request line", "POST /api/v1/template.execute HTTP/1.1 extra\r\nHost: x\r\nContent-Length: 600000\r\n\r\n"),
        ("negative Content-Length", "POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
        ("control byte in a header", "POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nX-Evil: a\u{01}b\r\nContent-Length: 600000\r\n\r\n"),
    ]

    static func startServe(_ dir: TempDirectory, _ extra: String = "") async throws -> ServeProcess {
        let port = try ServeProcess.freePort()
        let yaml = """
            listen: 127.0.0.1:\(port)
            database: \(dir.path("statussync.sqlite"))
            \(extra)
            """
        let path = dir.path("statussync.yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try await ServeProcess.start(config: path, port: port, dir: dir)
    }

    /// Sends one malformed request and as much of a large body as the buffers take, reads the
    /// answer, and closes (gracefully: its FIN waits behind the unsent bytes).
    static func malformedRequest(port: Int, head: String) throws -> Int? {
        let connection = try RawConnection(port: port)
        connection.sendUntilFull(Array(head.utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: unsentBody))
        let status = connection.readStatus(timeout: .seconds(5))
        connection.close()
        return status
    }

    @Test("Malformed requests with a large unsent body from clients that then close leave no descriptor behind")
    func malformedRequestsLeaveNothing() async throws {
        let dir = try TempDirectory()
        let serve = try await Self.startServe(dir)
        defer { kill(serve.process.processIdentifier, SIGKILL) }
        let pid = serve.process.processIdentifier
        let before = try ProcessFootprint(pid: pid)
        let port = serve.port
        let statuses = try await offPool {
            try (0..<200).map { i in try Self.malformedRequest(port: port, head: Self.malformed[i % Self.malformed.count].head) }
        }
        for (i, kind) in Self.malformed.enumerated() {
            let answers = Set(stride(from: i, to: statuses.count, by: Self.malformed.count).map { statuses[$0] })
            #expect(answers == [400], "\(kind.name): \(answers)")
        }
        var after = try ProcessFootprint(pid: pid)
        let released = await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
            after = (try? ProcessFootprint(pid: pid)) ?? after
            return after.descriptors <= before.descriptors + 20
        }
        #expect(released, "before: \(before); after: \(after)")
        #expect(after.rssKB - before.rssKB < 30 * 1024, "before: \(before); after: \(after)")
        // And the server still answers.
        #expect(await HTTP.get("\(serve.baseURL)/healthz") == 200)
    }

    @Test("A 4xx answered before the body arrived closes the connection at once", arguments: [
        ("POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 600000\r\n\r\n", 403),
        ("POST /no/such/route HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n", 404),
    ])
    func earlyAnswerCloses(head: String, expected: Int) async throws {
        let dir = try TempDirectory()
        try "agent-token-0123456789".write(toFile: dir.path("agent-token"), atomically: true, encoding: .utf8)
        let serve = try await Self.startServe(dir, "agentTokenFile: \(dir.path("agent-token"))")
        defer { kill(serve.process.processIdentifier, SIGKILL) }
        let port = serve.port
        let (status, closed, text) = try await offPool {
            let connection = try RawConnection(port: port)
            try connection.send(head + String(repeating: "{", count: 1000))
            let status = connection.readStatus(timeout: .seconds(5))
            // The rest of the body never comes: the server must not wait for it.
            let closed = connection.waitForClose(timeout: .seconds(2))
            return (status, closed, connection.receivedText)
        }
        #expect(status == expected, "\(text)")
        #expect(closed, "the connection was kept open for a body the server had already answered: \(text)")
        #expect(text.lowercased().contains("connection: close"), "\(text)")
    }

    @Test("Keep-alive works, and an idle connection is closed after http.idleTimeout")
    func idleTimeout() async throws {
        let dir = try TempDirectory()
        let serve = try await Self.startServe(dir, "http: {idleTimeout: 1s, requestTimeout: 30s}")
        defer { kill(serve.process.processIdentifier, SIGKILL) }
        let port = serve.port
        async let silent = offPool { () throws -> (Bool, Duration) in
            // Connects and never sends a byte.
            let connection = try RawConnection(port: port)
            let start = ContinuousClock.now
            return (connection.waitForClose(timeout: .seconds(6)), ContinuousClock.now - start)
        }
        let (statuses, closed, idle) = try await offPool { () throws -> ([Int], Bool, Duration) in
            let connection = try RawConnection(port: port)
            try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = connection.readStatuses(1, timeout: .seconds(5))
            try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let statuses = connection.readStatuses(2, timeout: .seconds(5))
            let start = ContinuousClock.now
            let closed = connection.waitForClose(timeout: .seconds(6))
            return (statuses, closed && statuses.count == 2, ContinuousClock.now - start)
        }
        #expect(statuses == [200, 200], "two requests on one kept-alive connection")
        #expect(closed, "the idle keep-alive connection was not closed")
        #expect(idle > .milliseconds(700) && idle < .seconds(4), "closed after \(idle)")
        let (silentClosed, silentIdle) = try await silent
        #expect(silentClosed && silentIdle < .seconds(4), "a connection that never sent anything: closed \(silentClosed) after \(silentIdle)")
    }

    @Test("A request not fully received within http.requestTimeout is answered 408 and closed")
    func requestTimeout() async throws {
        let dir = try TempDirectory()
        let serve = try await Self.startServe(dir, "http: {idleTimeout: 30s, requestTimeout: 1s}")
        defer { kill(serve.process.processIdentifier, SIGKILL) }
        let port = serve.port
        /// Sends `head`, then `trickle` one byte every 200 ms until the server answers or closes.
        @Sendable func stalled(_ head: String, trickle: Bool) throws -> (status: Int?, closed: Bool, after: Duration) {
            let connection = try RawConnection(port: port)
            let start = ContinuousClock.now
            try connection.send(head)
            while ContinuousClock.now - start < .seconds(6), !connection.closedByServer, RawConnection.statuses(in: connection.received).isEmpty {
                if trickle { try? connection.send("a") }
                connection.read(timeout: .milliseconds(200)) { !RawConnection.statuses(in: $0).isEmpty }
            }
            let status = RawConnection.statuses(in: connection.received).first
            let closed = connection.waitForClose(timeout: .seconds(2))
            return (status, closed, ContinuousClock.now - start)
        }
        let body = "POST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"workflow\""
        async let stalledBody = offPool { try stalled(body, trickle: false) }
        async let trickledBody = offPool { try stalled(body, trickle: true) }
        async let trickledHead = offPool { try stalled("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", trickle: true) }
        for (name, result) in try await [("stalled body", stalledBody), ("trickled body", trickledBody), ("trickled head", trickledHead)] {
            #expect(result.status == 408, "\(name): \(result)")
            #expect(result.closed, "\(name): \(result)")
            #expect(result.after > .milliseconds(800) && result.after < .seconds(4), "\(name): \(result)")
        }
        // Pipelined: the first request is answered on a connection that stays open (no
        // `Connection: close`: its own body was complete); the second never finishes: 408.
        let (statuses, text) = try await offPool { () throws -> ([Int], String) in
            let connection = try RawConnection(port: port)
            try connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPOST /api/v1/template.execute HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            let statuses = connection.readStatuses(2, timeout: .seconds(5))
            _ = connection.waitForClose(timeout: .seconds(2))
            return (statuses, connection.receivedText)
        }
        #expect(statuses == [200, 408], "\(text)")
        let first = text.components(separatedBy: "HTTP/1.1 408").first ?? ""
        #expect(!first.lowercased().contains("connection: close"), "\(text)")
        #expect(await HTTP.get("\(serve.baseURL)/healthz") == 200)
    }

    @Test("relay: --idle-timeout closes idle connections, and an early 4xx closes at once")
    func relay() async throws {
        let dir = try TempDirectory()
        let port = try ServeProcess.freePort()
        let relay = try await ServeProcess.start(
            arguments: ["relay", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:\(port)", "--idle-timeout", "1s", "--request-timeout", "1s"],
            port: port, dir: dir, tag: "relay")
        defer { kill(relay.process.processIdentifier, SIGKILL) }
        let (idleClosed, status, earlyClosed) = try await offPool { () throws -> (Bool, Int?, Bool) in
            let idle = try RawConnection(port: port)
            let early = try RawConnection(port: port)
            try early.send("POST /no/such/route HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n{")
            let status = early.readStatus(timeout: .seconds(5))
            let earlyClosed = early.waitForClose(timeout: .seconds(2))
            return (idle.waitForClose(timeout: .seconds(5)), status, earlyClosed)
        }
        #expect(idleClosed)
        #expect(status == 404 && earlyClosed)
        let (code, _, err) = try await ServeProcess.cli(["relay", "--upstream", "http://127.0.0.1:9", "--request-timeout", "0s"], in: dir)
        #expect(code == 64 && err.contains("--request-timeout must be at least 100ms, not 0s"), "\(code) \(err)")
    }
}
