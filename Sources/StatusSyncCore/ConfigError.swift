/// A configuration problem: where it is (file and line when known), which key, and what to fix.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
