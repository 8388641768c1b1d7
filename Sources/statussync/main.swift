import CMallocTuning
import StatusSyncCLI

// Swift concurrency runs on its default executor. (Running it on NIO's event loops, with NIO's
// executor takeover, was faster before group commit resumed its callers from the writer's queue;
// measured again after that change, the default executor took 6,000–6,500 accepted calls/s
// against 5,100–5,500 with the takeover, and p99 8–10 ms against 11–12 ms at 2,000 calls/s.)

// serve's writer allocates and frees the same few megabytes for every batch of calls. With glibc's
// default trim threshold each free can hand the top of the thread's heap back to the kernel, and
// the next batch faults it in again: that churn took a third of the writer's time. Keep up to 8 MiB.
if CommandLine.arguments.dropFirst().first == "serve" {
    _ = statussync_set_malloc_trim_threshold(8 << 20)
}

await StatusSyncCommand.runFromCommandLine()
