import Logging
import ServiceLifecycle

extension ServiceGroup {
    /// Runs `services` while `body` runs, then stops them gracefully and waits for them, also when
    /// `body` throws (the error is rethrown after the stop).
    static func running<T>(_ services: [any Service], logger: Logger, _ body: () async throws -> T) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: T
            do {
                result = try await body()
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }
}
