import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncProviders
import StatusSyncStore

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the setup: config, token files, each provider's authentication, the Argo Server (for Re-run), and the database.",
        discussion: "Prints one line per check. Exit status 0 only when every check passes, else 1."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var failures = 0
        var firstFailure = ""
        func report(_ ok: Bool, _ text: String) {
            if !ok {
                if failures == 0 { firstFailure = text }
                failures += 1
            }
            print("\(ok ? "ok  " : "FAIL")  \(text.escapingControlCharacters)")
        }
        /// A secret file that must be readable and not empty.
        func readable(_ path: String, what: String, ok: String) {
            do {
                _ = try SecretFile.read(path, what: what)
                report(true, ok)
            } catch {
                report(false, error.message)
            }
        }

        let config: AppConfig
        do {
            config = try global.loadConfig()
            report(true, "config: \(config.source)")
        } catch {
            report(false, "config: \(error)")
            throw CLIError("check failed: the config cannot be loaded: \(error)")
        }
        if !config.listen.isLoopback && config.agentTokenFile == nil && config.tenants.isEmpty {
            report(false, "listen \(config.listen): not loopback, so agentTokenFile (or tenants) is required")
        }
        if let path = config.agentTokenFile {
            readable(path, what: "agentTokenFile", ok: "agentTokenFile \(path): readable")
        }
        if config.providers.isEmpty {
            report(false, "providers: none configured; add one under providers: (or set GITHUB_TOKEN)")
        }
        let http = ProviderHTTPClient(timeout: config.delivery.timeout.duration)
        for provider in config.providers {
            let label = "provider \(provider.name) (\(provider.kind), \(provider.baseURL))"
            do {
                let made = try ProviderRegistry.make([provider], http: http)
                let (outcome, identity) = await made[0].identify()
                if outcome.errorClass == .ok {
                    report(true, "\(label): token accepted, authenticated as \(identity ?? "?")")
                } else {
                    let status = outcome.httpStatus.map { "HTTP \($0)" } ?? "no response"
                    report(false, "\(label): \(status): \(outcome.message ?? "")")
                }
            } catch {
                report(false, "\(label): \(error)")
            }
        }
        try? await http.shutdown()
        for provider in config.providers {
            guard let path = provider.webhookSecretFile else { continue }
            readable(path, what: "provider \(provider.name) webhookSecretFile",
                     ok: "provider \(provider.name) webhookSecretFile \(path): readable (GitHub's webhooks at POST /api/v1/github/webhook)")
        }
        if let argo = config.argoServer {
            if let path = argo.tokenFile {
                readable(path, what: "argoServer.tokenFile", ok: "argoServer \(argo.baseURL): tokenFile \(path) readable")
            } else {
                report(true, "argoServer \(argo.baseURL): no tokenFile (the Argo Server must run with --auth-mode=server)")
            }
            // The client serve uses for re-runs (insecureSkipVerify applies to it alone).
            let argoHTTP = ProviderHTTPClient(timeout: config.delivery.timeout.duration, verifyCertificates: !argo.insecureSkipVerify)
            let (outcome, identity) = await ArgoServerClient(argo, http: argoHTTP).identify()
            try? await argoHTTP.shutdown()
            if outcome.errorClass == .ok {
                report(true, "argoServer \(argo.baseURL): reachable, token accepted\(identity.map { ", authenticated as \($0)" } ?? "")")
            } else {
                let status = outcome.httpStatus.map { "HTTP \($0)" } ?? "no response"
                report(false, "argoServer \(argo.baseURL): \(status): \(outcome.message ?? "")")
            }
        }
        checkDatabase(config, report: report)
        if failures > 0 {
            print("\(failures) check\(failures == 1 ? "" : "s") failed")
            // The report stays on stdout; stderr gets the one-line reason every runtime error has.
            throw CLIError("\(failures) check\(failures == 1 ? "" : "s") failed, first: \(firstFailure)")
        }
        print("all checks passed")
    }

    private func checkDatabase(_ config: AppConfig, report: (Bool, String) -> Void) {
        let path = config.database
        guard FileManager.default.fileExists(atPath: path) else {
            let parent = (path as NSString).deletingLastPathComponent
            let dir = parent.isEmpty ? "." : parent
            report(FileManager.default.isWritableFile(atPath: dir),
                   "database \(path): does not exist yet; serve creates it in \(dir)\(FileManager.default.isWritableFile(atPath: dir) ? "" : ", which is not writable")")
            return
        }
        do {
            let database = try AppDatabase.openForWriting(path: path, busyTimeout: config.busyTimeout.seconds, schema: .requireCurrent)
            report(true, "database \(path): writable, WAL, synchronous=FULL, schema version \(try database.schemaVersion())")
        } catch {
            report(false, "database \(path): \(error)")
        }
    }
}
