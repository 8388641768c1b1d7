import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain POSIX TCP connection to 127.0.0.1, for sending what no HTTP client would: broken
/// heads, bodies that never come, bytes one at a time. Blocking; run it through `offPool`.
final class RawConnection {
    private(set) var fd: Int32
    /// Everything received so far.
    private(set) var received = Data()
    /// The server closed (EOF) or reset the connection.
    private(set) var closedByServer = false

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port): \(message)")
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sends all of `bytes` (blocking).
    func send(_ bytes: some Sequence<UInt8>) throws {
        let data = Array(bytes)
        var offset = 0
        while offset < data.count {
            let n = data[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends as much of `bytes` as the socket takes without blocking, stopping when the buffers
    /// are full (the server is not reading) or the server has gone. Returns how many were taken.
    @discardableResult
    func sendUntilFull(_ bytes: [UInt8]) -> Int {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            guard n > 0 else { break }
            sent += n
        }
        return sent
    }

    /// Reads until `done(received)` holds, the server closes, or `timeout` passes.
    func read(timeout: Duration, until done: (Data) -> Bool) {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !closedByServer, !done(received) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 1000))
            guard poll(&poller, 1, ms) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received.append(contentsOf: buffer[..<n])
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                closedByServer = true
            }
        }
    }

    /// Reads until the server closes the connection, for at most `timeout`; true if it did.
    func waitForClose(timeout: Duration) -> Bool {
        read(timeout: timeout) { _ in false }
        return closedByServer
    }

    /// Reads until a whole response head has arrived; returns its status code.
    func readStatus(timeout: Duration) -> Int? {
        read(timeout: timeout) { $0.range(of: Data("\r\n\r\n".utf8)) != nil }
        return Self.statuses(in: received).first
    }

    /// Reads responses until `count` heads have arrived (bodies are short in these tests).
    func readStatuses(_ count: Int, timeout: Duration) -> [Int] {
        read(timeout: timeout) { Self.statuses(in: $0).count >= count }
        return Self.statuses(in: received)
    }

    var receivedText: String { String(decoding: received, as: UTF8.self) }

    static func statuses(in data: Data) -> [Int] {
        // A status line follows the previous response's body directly, not always a line break.
        String(decoding: data, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").dropFirst()
            .compactMap { Int($0.prefix(3)) }
    }
}

/// Runs blocking socket work on a plain thread, off Swift's small cooperative pool (which the
/// in-process fakes of other tests need).
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// What the kernel says about a process: open descriptors and resident memory.
struct ProcessFootprint: CustomStringConvertible {
    var descriptors: Int
    var rssKB: Int

    init(pid: Int32) throws {
        descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        rssKB = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    var description: String { "\(descriptors) descriptors, RSS \(rssKB / 1024) MB" }
}
