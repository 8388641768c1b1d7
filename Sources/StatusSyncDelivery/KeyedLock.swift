/// Mutual exclusion per key across tasks: one sticky-comment upsert at a time per
/// (provider, repo, pr, context), so two deliveries never both create the comment.
actor KeyedLock {
    private var held: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    func withLock<T: Sendable>(_ key: String, _ body: @Sendable () async -> T) async -> T {
        await lock(key)
        let result = await body()
        unlock(key)
        return result
    }

    private func lock(_ key: String) async {
        guard held.contains(key) else {
            held.insert(key)
            return
        }
        await withCheckedContinuation { waiters[key, default: []].append($0) }
    }

    private func unlock(_ key: String) {
        if var queue = waiters[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[key] = queue.isEmpty ? nil : queue
            next.resume()   // the lock passes to the next waiter
        } else {
            held.remove(key)
        }
    }
}
