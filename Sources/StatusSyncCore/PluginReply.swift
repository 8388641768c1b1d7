import Foundation

/// Argo's `ExecuteTemplateReply`: `{"node":{"phase","message","outputs"},"requeue"}`.
public struct PluginReply: Sendable, Equatable {
    public enum Phase: String, Sendable, Codable {
        case running = "Running"
        case succeeded = "Succeeded"
        case failed = "Failed"
    }

    public struct Parameter: Sendable, Equatable, Codable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var phase: Phase
    public var message: String
    public var parameters: [Parameter]
    /// Go duration string such as "10s"; only ever sent together with a non-Succeeded node.
    public var requeue: String?

    public init(phase: Phase, message: String, parameters: [Parameter] = [], requeue: String? = nil) {
        self.phase = phase
        self.message = message
        self.parameters = parameters
        self.requeue = requeue
    }

    /// The body of an invalid call of our key: a Failed node, never an HTTP error.
    public static func invalid(_ error: PluginBodyError) -> PluginReply {
        PluginReply(phase: .failed, message: "statussync: \(error.message)")
    }

    /// Compact JSON in the field order of the contract.
    public var jsonText: String {
        var out = ""
        out.reserveCapacity(message.utf8.count + parameters.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 24 } + 96)
        out += "{\"node\":{\"phase\":"
        JSONValue.writeQuoted(phase.rawValue, into: &out)
        out += ",\"message\":"
        JSONValue.writeQuoted(message, into: &out)
        if !parameters.isEmpty {
            out += ",\"outputs\":{\"parameters\":["
            for (i, p) in parameters.enumerated() {
                if i > 0 { out += "," }
                out += "{\"name\":"
                JSONValue.writeQuoted(p.name, into: &out)
                out += ",\"value\":"
                JSONValue.writeQuoted(p.value, into: &out)
                out += "}"
            }
            out += "]}"
        }
        out += "}"
        if let requeue, phase != .succeeded {
            out += ",\"requeue\":"
            JSONValue.writeQuoted(requeue, into: &out)
        }
        out += "}"
        return out
    }

    /// Parses a stored reply back (for `calls --json` and replays).
    public init?(jsonText: String) {
        guard let value = try? JSONValue.parse(Data(jsonText.utf8)),
              case .object(let node)? = value["node"],
              let phase = node["phase"]?.stringValue.flatMap(Phase.init(rawValue:))
        else { return nil }
        self.phase = phase
        self.message = node["message"]?.stringValue ?? ""
        var params: [Parameter] = []
        if case .array(let items)? = node["outputs"]?["parameters"] {
            for item in items {
                if let n = item["name"]?.stringValue, let v = item["value"]?.stringValue { params.append(Parameter(name: n, value: v)) }
            }
        }
        self.parameters = params
        self.requeue = value["requeue"]?.stringValue
    }
}
