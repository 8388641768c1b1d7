import Foundation
import PackagePlugin

/// Lists every `Kinds/<Name>Provider.swift` of the target in `RegisteredProviders.all`, so a new
/// provider is one new source file (plus its fake in the tests) and no other change.
@main
struct RegisterProviders: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let source = target as? SourceModuleTarget else { return [] }
        let kinds = source.sourceFiles(withSuffix: "Provider.swift")
            .map(\.url)
            .filter { $0.deletingLastPathComponent().lastPathComponent == "Kinds" }
            .sorted { $0.path() < $1.path() }
        let output = context.pluginWorkDirectoryURL.appending(path: "RegisteredProviders.swift")
        return [
            .buildCommand(
                displayName: "Registering \(kinds.count) providers",
                executable: try context.tool(named: "BuildCodegen").url,
                arguments: ["providers", output.path()] + kinds.map { $0.path() },
                inputFiles: kinds,
                outputFiles: [output]
            ),
        ]
    }
}
