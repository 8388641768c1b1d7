import NIOCore
import NIOPosix
import StatusSyncCLI

// serve handles many small requests: run Swift concurrency on NIO's event loops so a request does
// not hop between thread pools (must happen on the main thread, before anything is scheduled).
if CommandLine.arguments.dropFirst().first == "serve" {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

await StatusSyncCommand.runFromCommandLine()
