import CMallocTuning
import NIOCore
import NIOPosix
import StatusSyncCLI

let command = CommandLine.arguments.dropFirst().first

// serve and relay handle many small requests: run Swift concurrency on NIO's event loops so a request does
// not hop between thread pools (must happen on the main thread, before anything is scheduled). In the
// shipped build (static runtime, deploy/build-release.sh) the runtime's hook is not exported, this does
// nothing, and the default executor runs the tasks; that build is still the faster one
// (docs/benchmarks.md).
if command == "serve" || command == "relay" {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

// serve's writer allocates and frees the same few megabytes for every batch of calls. With glibc's
// default trim threshold each free can hand the top of the thread's heap back to the kernel, and
// the next batch faults it in again: that churn took a third of the writer's time. Keep up to 8 MiB.
if command == "serve" {
    _ = statussync_set_malloc_trim_threshold(8 << 20)
}

await StatusSyncCommand.runFromCommandLine()
