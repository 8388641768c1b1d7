import ArgumentParser

/// `statussync`: the Argo executor plugin that reports commit statuses durably, and its operator CLI.
public struct StatusSyncCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "statussync",
        abstract: "Durable commit statuses for Argo Workflows: an executor plugin server and its operator CLI.",
        discussion: """
            serve runs the Argo executor plugin (POST /api/v1/template.execute): it records every call \
            and status update in SQLite before it replies, and delivers the statuses in the background \
            to GitHub, GitHub Enterprise, GitLab, Gitea/Forgejo, Bitbucket Cloud, Bitbucket Data \
            Center or Azure DevOps. relay is the small stateless sidecar that forwards calls to a central serve. The \
            other commands read or maintain the same SQLite database and work while serve runs.

            Configuration: --config FILE or STATUSSYNC_CONFIG; without either, serve uses the embedded \
            defaults (127.0.0.1:3001, ./statussync.sqlite, a github provider when GITHUB_TOKEN is set, \
            a gitlab one when GITLAB_TOKEN is set).

            Exit status: 0 success, 1 runtime error (with a one-line reason on stderr), 64 usage error.
            """,
        version: StatusSyncVersion.current,
        subcommands: [Serve.self, Relay.self, History.self, Calls.self, Show.self, Backlog.self, Retry.self, Prune.self, Migrate.self, Check.self]
    )

    public init() {}
}

public enum StatusSyncVersion {
    public static let current = "0.1.0"
}

extension StatusSyncCommand {
    /// Parses the command line and runs the chosen subcommand (async-aware), exiting with the
    /// contract's status codes: 0 success, 1 runtime error, 64 usage error.
    public static func runFromCommandLine() async {
        do {
            var command = try parseAsRoot(nil)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
