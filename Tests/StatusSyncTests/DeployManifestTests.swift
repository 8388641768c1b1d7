import Foundation
import Testing
@testable import StatusSyncProviders
import Yams
@testable import StatusSyncCore

/// deploy/: the executor-plugin ConfigMaps the agent reads must say what their plugin.yaml says,
/// and the configs they embed must be valid statussync configs.
@Suite("Deploy manifests")
struct DeployManifestTests {
    static let deploy = TestPaths.testsDirectory.deletingLastPathComponent().deletingLastPathComponent().appending(path: "deploy")

    static func yaml(_ url: URL) throws -> Any? {
        try Yams.load(yaml: String(contentsOf: url, encoding: .utf8))
    }

    @Test("Each generated ConfigMap's sidecar.container equals its plugin.yaml container", arguments: ["standalone", "relay"])
    func configMapMatchesPlugin(mode: String) throws {
        let dir = Self.deploy.appending(path: "argo").appending(path: mode)
        let plugin = try #require(try Self.yaml(dir.appending(path: "plugin.yaml")) as? [String: Any])
        let name = try #require((plugin["metadata"] as? [String: Any])?["name"] as? String)
        let sidecar = try #require((plugin["spec"] as? [String: Any])?["sidecar"] as? [String: Any])
        let container = try #require(sidecar["container"] as? [String: Any])

        let configMap = try #require(try Self.yaml(dir.appending(path: "\(name)-executor-plugin-configmap.yaml")) as? [String: Any])
        #expect(configMap["kind"] as? String == "ConfigMap")
        let metadata = try #require(configMap["metadata"] as? [String: Any])
        #expect(metadata["name"] as? String == "\(name)-executor-plugin")
        #expect((metadata["labels"] as? [String: Any])?["workflows.argoproj.io/configmap-type"] as? String == "ExecutorPlugin")
        let data = try #require(configMap["data"] as? [String: Any])
        let containerText = try #require(data["sidecar.container"] as? String)
        let embedded = try #require(try Yams.load(yaml: containerText) as? [String: Any])
        #expect(NSDictionary(dictionary: embedded).isEqual(to: container), "\(mode): ConfigMap container differs from plugin.yaml; run python3 deploy/argo/generate.py")
        let automount = (sidecar["automountServiceAccountToken"] as? Bool) ?? false
        #expect((data["sidecar.automountServiceAccountToken"] as? String) == (automount ? "true" : "false"))
        let ports = try #require(container["ports"] as? [[String: Any]])
        // Not 3001 (another "PR build status" plugin's port): every plugin's sidecar shares the agent pod.
        #expect(ports.first?["containerPort"] as? Int == Self.sidecarPort)
        if mode == "relay" {
            let args = try #require(container["args"] as? [String])
            let listen = try #require(args.firstIndex(of: "--listen").map { args[$0 + 1] })
            #expect(ListenAddress(parsing: listen) == ListenAddress(host: "127.0.0.1", port: Self.sidecarPort))
            #expect(args.firstIndex(of: "--upstream").map { args[$0 + 1] } == "http://statussync.argo.svc:\(Self.sidecarPort)")
        }
    }

    /// The port of statussync throughout deploy/ (docs/deployment.md).
    static let sidecarPort = 7313

    @Test("The configs embedded in deploy/ parse as statussync configs")
    func embeddedConfigsParse() throws {
        let standalone = try #require(try Self.yaml(Self.deploy.appending(path: "argo/standalone/plugin.yaml")) as? [String: Any])
        let container = try #require(((standalone["spec"] as? [String: Any])?["sidecar"] as? [String: Any])?["container"] as? [String: Any])
        let env = try #require(container["env"] as? [[String: Any]])
        let inline = try #require(env.first { $0["name"] as? String == "STATUSSYNC_CONFIG_YAML" }?["value"] as? String)
        let sidecarConfig = try AppConfig.parse(yaml: inline, source: "standalone plugin.yaml", catalog: ProviderRegistry.catalog)
        #expect(sidecarConfig.listen.isLoopback && sidecarConfig.agentTokenFile == "/var/run/argo/token")
        #expect(sidecarConfig.listen.port == Self.sidecarPort)

        let configMap = try #require(try Self.yaml(Self.deploy.appending(path: "kubernetes/configmap.yaml")) as? [String: Any])
        let text = try #require((configMap["data"] as? [String: Any])?["config.yaml"] as? String)
        let central = try AppConfig.parse(yaml: text, source: "kubernetes/configmap.yaml", catalog: ProviderRegistry.catalog)
        #expect(!central.listen.isLoopback && !central.tenants.isEmpty, "the central service listens outside loopback only with tenants")
    }

    @Test("The check-runs overlay's config reports check runs from a GitHub App with its webhook secret and resubmits through the Argo Server, with every file it names mounted")
    func checksOverlayConfig() throws {
        let kustomization = try #require(try Self.yaml(Self.deploy.appending(path: "kubernetes-checks/kustomization.yaml")) as? [String: Any])
        let patches = try #require(kustomization["patches"] as? [[String: Any]])
        let texts = patches.compactMap { $0["patch"] as? String }
        let configMap = try #require(texts.compactMap { try? Yams.load(yaml: $0) as? [String: Any] }.first { $0["kind"] as? String == "ConfigMap" })
        let text = try #require((configMap["data"] as? [String: Any])?["config.yaml"] as? String)
        let config = try AppConfig.parse(yaml: text, source: "kubernetes-checks/kustomization.yaml", catalog: ProviderRegistry.catalog)
        let github = try #require(config.providers.first)
        #expect(github.checks && github.hasApp && github.webhookSecretFile != nil)
        let argo = try #require(config.argoServer)
        #expect(argo.tokenFile == "/etc/statussync/argo/token")
        // The base mounts /etc/statussync/github (app.pem, webhook-secret); the overlay the Argo token.
        let deployment = try #require(texts.first { $0.contains("kind: Deployment") })
        #expect(deployment.contains("mountPath: /etc/statussync/argo"))
        #expect(github.webhookSecretFile?.hasPrefix("/etc/statussync/github/") == true)
        #expect(!config.listen.isLoopback && !config.tenants.isEmpty)
        // The resubmit account: get and create to resubmit, list to find what a lost answer made.
        let role = try #require(try Self.yaml(Self.deploy.appending(path: "kubernetes-checks/resubmit-clusterrole.yaml")) as? [String: Any])
        let rules = try #require(role["rules"] as? [[String: Any]])
        let workflows = try #require(rules.first { ($0["resources"] as? [String])?.contains("workflows") == true })
        #expect(Set(workflows["verbs"] as? [String] ?? []) == ["get", "list", "create"])
    }
}
