import Crypto
import Foundation
import StatusSyncCore

/// GitHub's webhook deliveries as `serve` reads them: the signature, and the `check_run` events
/// that ask to re-run a workflow (docs/design.md#re-run).
public enum GitHubWebhook {
    /// Whether `header` (`X-Hub-Signature-256`) is `sha256=` and the hex HMAC-SHA256 of the raw
    /// `body` keyed with `secret`. The comparison takes the same time wherever they differ.
    public static func verify(signature header: String?, body: some DataProtocol, secret: String) -> Bool {
        guard let header, !secret.isEmpty else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        let expected = "sha256=" + mac.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        return ConstantTime.equals(Array(header.trimmed.lowercased().utf8), Array(expected.utf8))
    }

    /// A delivery that asks statussync to re-run a workflow.
    public struct RerunEvent: Sendable, Equatable {
        public enum Action: String, Sendable {
            /// The run's Re-run action button (`statussync-rerun`).
            case requestedAction = "requested_action"
            /// GitHub's own "Re-run" of a completed run.
            case rerequested
        }

        public var action: Action
        /// statussync's check-run record, from `external_id` `statussync:<id>`.
        public var recordID: Int64
        /// GitHub's id of the run.
        public var checkRunID: Int64?
        /// `repository.full_name`.
        public var repo: String
        /// `sender.login`.
        public var sender: String?
    }

    /// What a delivery is to statussync.
    public enum Classification: Sendable, Equatable {
        case rerun(RerunEvent)
        /// A ping, another event or action, or a run statussync did not make: answered 200,
        /// nothing recorded. The text says which, for the log and the answer.
        case ignored(String)
    }

    /// Reads an event (`X-GitHub-Event`) and its JSON payload.
    public static func classify(event: String?, payload: JSONValue) -> Classification {
        guard let event, !event.isEmpty else { return .ignored("no X-GitHub-Event header") }
        guard event == "check_run" else { return .ignored(event == "ping" ? "ping" : "event \(event.excerpt(40)) is not check_run") }
        guard let actionText = payload["action"]?.stringValue, let action = RerunEvent.Action(rawValue: actionText) else {
            return .ignored("check_run action \(payload["action"]?.stringValue?.excerpt(40) ?? "(none)") does not ask for a re-run")
        }
        if action == .requestedAction {
            let identifier = payload["requested_action"]?["identifier"]?.stringValue
            guard identifier == CheckRunDelivery.rerunIdentifier else {
                return .ignored("requested_action \(identifier?.excerpt(40) ?? "(none)") is not statussync's Re-run")
            }
        }
        guard let run = payload["check_run"], let external = run["external_id"]?.stringValue,
              external.hasPrefix("statussync:"), let recordID = Int64(external.dropFirst("statussync:".count)), recordID > 0 else {
            return .ignored("the check run was not made by statussync (no external_id statussync:<id>)")
        }
        guard let repo = payload["repository"]?["full_name"]?.stringValue, !repo.isEmpty else {
            return .ignored("the delivery names no repository")
        }
        return .rerun(RerunEvent(action: action, recordID: recordID, checkRunID: run["id"]?.idText.flatMap { Int64($0) },
                                 repo: repo, sender: payload["sender"]?["login"]?.stringValue))
    }
}
