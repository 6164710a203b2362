import Foundation
import GRDB

/// Reads behind `anneal log` and `anneal metrics`: runs by id prefix, and metrics scoped to
/// one run (a pipeline's current results are found by action key, never by stage name alone).
extension Ledger {
    /// Runs whose id starts with `prefix`, newest first; more than one means the prefix is ambiguous.
    public func runs(matching prefix: String, limit: Int = 10) throws(StoreError) -> [Run] {
        try read { db in
            let exact = try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [prefix])
            if !exact.isEmpty { return exact.map(Self.run) }
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
                out[r["name"], default: []].append((r["step"], r["value"]))
            }
            return out
        }
    }

    static func execution(_ r: Row) -> Execution {
        Execution(runID: r["run_id"], stage: r["stage"], status: r["status"], key: r["key"], started: r["started"],
                  finished: r["finished"], exitCode: r["exit_code"], error: r["error"], log: r["log"])
    }
}
