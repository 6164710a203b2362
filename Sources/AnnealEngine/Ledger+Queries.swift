import AnnealPipeline
import Foundation
import GRDB

/// Reads behind `anneal log` and `anneal metrics`: runs by id prefix, and metrics scoped to
/// one run (a pipeline's current results are found by action key, never by stage name alone).
extension Ledger {
    /// Runs whose id starts with `prefix`, newest first; more than one means the prefix is ambiguous.
    public func runs(matching prefix: String, limit: Int = 10) throws(StoreError) -> [Run] {
        try read { db in
            let exact = try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [prefix])
            if !exact.isEmpty { return try exact.map(Self.run) }
            // GLOB, not LIKE: `_` in a prefix is literal, and ids hold no glob characters.
            let safe = prefix.filter { !"*?[]".contains($0) }
            return try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE id GLOB ? ORDER BY started DESC LIMIT ?",
                                    arguments: [safe + "*", limit]).map(Self.run)
        }
    }

    /// The most recent execution that ran the action `key` to completion: the one whose
    /// metrics the action cache serves.
    public func lastCompletedExecution(key: String) throws(StoreError) -> Execution? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM executions WHERE key = ? AND status = 'ran' ORDER BY finished DESC LIMIT 1",
                             arguments: [key]).map(Self.execution)
        }
    }

    /// One stage's execution in one run.
    public func execution(run: String, stage: String) throws(StoreError) -> Execution? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM executions WHERE run_id = ? AND stage = ?", arguments: [run, stage]).map(Self.execution)
        }
    }

    /// A stage's series (step, value) per metric name in one run.
    public func series(run: String, stage: String) throws(StoreError) -> [String: [(Int?, Double)]] {
        try read { db in
            var out: [String: [(Int?, Double)]] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT step, name, value FROM metrics WHERE stage = ? AND run_id = ? ORDER BY rowid",
                                      arguments: [stage, run]) {
                out[try r.required("name", in: "metrics"), default: []].append((try r.optional("step", in: "metrics"), try r.required("value", in: "metrics")))
            }
            return out
        }
    }

    static func execution(_ r: Row) throws -> Execution {
        let t = "executions"
        return Execution(runID: try r.required("run_id", in: t), stage: try r.required("stage", in: t),
                         status: try r.required("status", in: t), key: try r.optional("key", in: t),
                         started: try r.optional("started", in: t), finished: try r.optional("finished", in: t),
                         exitCode: try r.optional("exit_code", in: t), error: try r.optional("error", in: t), log: try r.optional("log", in: t),
                         reasons: (try r.optional("reasons", in: t) as String?).flatMap(Value.parseJSON)?.listValue?.compactMap(\.stringValue) ?? [])
    }
}
