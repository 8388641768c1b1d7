import StatusSyncCLI

await StatusSyncCommand.runFromCommandLine()
