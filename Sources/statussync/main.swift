import NIOCore
import NIOPosix
import StatusSyncCLI

// serve and relay handle many small requests: run Swift concurrency on NIO's event loops so a request does
// not hop between thread pools (must happen on the main thread, before anything is scheduled).
if let command = CommandLine.arguments.dropFirst().first, command == "serve" || command == "relay" {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

await StatusSyncCommand.runFromCommandLine()
