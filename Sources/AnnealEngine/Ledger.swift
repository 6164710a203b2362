import AnnealPipeline
import Foundation
import GRDB

/// The run ledger: every run, every stage execution, every metric point, and the stat cache
/// of workspace inputs. SQLite in WAL mode, so `status` and `metrics` read while a run writes.
public final class Ledger: Sendable {
    let pool: DatabasePool
    let path: String

    public init(path: String) throws(StoreError) {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        // WAL with `synchronous = NORMAL`: a commit appends to the log without an fsync (SQLite
        // syncs at checkpoints), so the two rows a stage writes cost no disk flush each. A killed
        // process loses nothing committed; a power cut may lose the last rows, never the
        // database's consistency. The cache's own durability (objects, action entries) does not
        // rest on the ledger; the one row gc relies on, a run's end, is written durably
        // (`finishRun`).
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw .ledger("cannot open \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, command TEXT NOT NULL,
                    started REAL NOT NULL, finished REAL, status TEXT NOT NULL, lockfile TEXT);
                CREATE TABLE executions (run_id TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL,
                    key TEXT, started REAL, finished REAL, exit_code INTEGER, error TEXT, log TEXT,
                    PRIMARY KEY (run_id, stage));
                CREATE TABLE metrics (run_id TEXT NOT NULL, stage TEXT NOT NULL, step INTEGER,
                    name TEXT NOT NULL, value REAL NOT NULL, time REAL NOT NULL);
                CREATE INDEX metrics_stage ON metrics (stage, name, time);
                CREATE TABLE file_state (path TEXT PRIMARY KEY, device INTEGER, inode INTEGER,
                    size INTEGER, mtime_ns INTEGER, digest TEXT NOT NULL);
                """)
        }
        // Each run's resolved parameters (`RunParameters`), for `exp show`, `diff` and
        // `report`. Runs recorded before it have NULL there: they show no parameters.
        m.registerMigration("v2-run-params") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN params TEXT")
            // Why each stage ran (a JSON list), for `report`.
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN reasons TEXT")
        }
        return m
    }

    func write(_ body: (Database) throws -> Void) throws(StoreError) {
        do { try pool.write(body) } catch { throw .ledger("\(error)") }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch let damage as LedgerDamage {
            throw .ledger("\(path): \(damage)")
        } catch {
            throw .ledger("\(error)")
        }
    }

    // MARK: runs

    public struct Run: Sendable {
        public var id: String
        public var pipeline: String
        public var command: String
        public var started: Double
        public var finished: Double?
        public var status: String
        public var lockfile: String?
        /// `RunParameters` as canonical JSON; nil for runs an older anneal recorded.
        public var params: String?
    }

    public func beginRun(id: String, pipeline: String, command: String, params: String? = nil) throws(StoreError) {
        try write { db in
            try db.execute(sql: "INSERT INTO runs (id, pipeline, command, started, status, params) VALUES (?, ?, ?, ?, 'running', ?)",
                           arguments: [id, pipeline, command, Date().timeIntervalSince1970, params])
        }
    }

    /// The run's last commit is durable (`synchronous = FULL` for it: the log is synced, with
    /// every row before it): `gc` keeps what recent runs and recorded lockfiles used, from these
    /// rows, so a power cut after a run must not make gc forget that run's results.
    public func finishRun(id: String, status: String, lockfile: String?) throws(StoreError) {
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
                try db.inTransaction {
                    try db.execute(sql: "UPDATE runs SET finished = ?, status = ?, lockfile = ? WHERE id = ?",
                                   arguments: [Date().timeIntervalSince1970, status, lockfile, id])
                    return .commit
                }
            }
        } catch { throw .ledger("\(error)") }
    }

    /// A run in which every stage was cached, all at once — its row, one `cached` execution per
    /// stage (name, key), its end — in one durable commit (`NoOpMemo.recordRun`). The rows go in
    /// as one statement over a JSON array: 1,000 bound statements cost more than the decision.
    public func recordCachedRun(id: String, pipeline: String, command: String, params: String?, stages: [(name: String, key: String)],
                                lockfile: String?) throws(StoreError) {
        let rows = Value.list(stages.map { .list([.string($0.name), .string($0.key)]) }).canonicalJSON
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
                try db.inTransaction {
                    let now = Date().timeIntervalSince1970
                    try db.execute(sql: """
                        INSERT INTO runs (id, pipeline, command, started, finished, status, lockfile, params) VALUES (?, ?, ?, ?, ?, 'ok', ?, ?)
                        """, arguments: [id, pipeline, command, now, now, lockfile, params])
                    try db.execute(sql: """
                        INSERT OR REPLACE INTO executions (run_id, stage, status, key, started, finished)
                        SELECT ?, json_extract(value, '$[0]'), 'cached', json_extract(value, '$[1]'), ?, ? FROM json_each(?)
                        """, arguments: [id, now, now, rows])
                    return .commit
                }
            }
        } catch { throw .ledger("\(error)") }
    }

    /// Marks runs (and their executions) still `running` as `interrupted`. Called with the
    /// cache lock held: no other process is running then, so those runs' processes were killed.
    @discardableResult
    public func markAbandonedRuns() throws(StoreError) -> Int {
        // A read first: the usual answer is "none", and a no-op run should not pay a write for it.
        let any = try read { db in try Row.fetchOne(db, sql: "SELECT 1 FROM runs WHERE status = 'running' LIMIT 1") != nil }
        guard any else { return 0 }
        var count = 0
        try write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(sql: "UPDATE executions SET status = 'interrupted', finished = ? WHERE status = 'running'", arguments: [now])
            try db.execute(sql: "UPDATE runs SET status = 'interrupted', finished = ? WHERE status = 'running'", arguments: [now])
            count = db.changesCount
        }
        return count
    }

    public func runs(limit: Int = 50) throws(StoreError) -> [Run] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY started DESC LIMIT ?", arguments: [limit]).map { try Self.run($0) }
        }
    }

    /// A run by id, id prefix, or `last`.
    public func findRun(_ ref: String) throws(StoreError) -> Run? {
        try read { db in
            if ref == "last" || ref == "latest" {
                return try Row.fetchOne(db, sql: "SELECT * FROM runs ORDER BY started DESC LIMIT 1").map { try Self.run($0) }
            }
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE id LIKE ? ORDER BY started DESC LIMIT 2",
                                        arguments: [ref + "%"])
            if rows.count == 1 { return try Self.run(rows[0]) }
            for row in rows where try row.required("id", in: "runs") as String == ref { return try Self.run(row) }
            return nil
        }
    }

    static func run(_ r: Row) throws -> Run {
        let t = "runs"
        return Run(id: try r.required("id", in: t), pipeline: try r.required("pipeline", in: t), command: try r.required("command", in: t),
                   started: try r.required("started", in: t), finished: try r.optional("finished", in: t),
                   status: try r.required("status", in: t), lockfile: try r.optional("lockfile", in: t),
                   params: try r.optional("params", in: t))
    }

    // MARK: executions

    public struct Execution: Sendable {
        public var runID: String
        public var stage: String
        public var status: String
        public var key: String?
        public var started: Double?
        public var finished: Double?
        public var exitCode: Int?
        public var error: String?
        public var log: String?
        public var reasons: [String] = []
    }

    public func record(_ e: Execution) throws(StoreError) { try record([e]) }

    /// One transaction for many executions: a no-op run over 1,000 cached stages commits once.
    public func record(_ executions: [Execution]) throws(StoreError) {
        guard !executions.isEmpty else { return }
        try write { db in
            // One statement compiled once, not once per row.
            let insert = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO executions (run_id, stage, status, key, started, finished, exit_code, error, log, reasons)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for e in executions {
                try insert.execute(arguments: [e.runID, e.stage, e.status, e.key, e.started, e.finished, e.exitCode, e.error, e.log,
                                               e.reasons.isEmpty ? nil : Value.list(e.reasons.map(Value.string)).canonicalJSON])
            }
        }
    }

    public func executions(run: String) throws(StoreError) -> [Execution] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM executions WHERE run_id = ? ORDER BY started, stage", arguments: [run]).map(Self.execution)
        }
    }

    /// Keys of actions used by the `n` most recent runs (kept by `gc`).
    public func recentKeys(runs n: Int) throws(StoreError) -> Set<String> {
        try read { db in
            Set(try Row.fetchAll(db, sql: """
                SELECT key FROM executions WHERE key IS NOT NULL AND run_id IN
                    (SELECT id FROM runs ORDER BY started DESC LIMIT ?)
                """, arguments: [n]).map { try $0.required("key", in: "executions") as String })
        }
    }

    public func lockfiles() throws(StoreError) -> Set<String> {
        try read { db in
            Set(try Row.fetchAll(db, sql: "SELECT DISTINCT lockfile FROM runs WHERE lockfile IS NOT NULL").map {
                try $0.required("lockfile", in: "runs") as String
            })
        }
    }

    // MARK: metrics

    public struct MetricPoint: Sendable {
        public var step: Int?
        public var name: String
        public var value: Double
    }

    public func record(run: String, stage: String, points: [MetricPoint]) throws(StoreError) {
        guard !points.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try write { db in
            for p in points {
                try db.execute(sql: "INSERT INTO metrics (run_id, stage, step, name, value, time) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [run, stage, p.step, p.name, p.value, now])
            }
        }
    }

    /// The latest value of every metric, by stage.
    public func latestMetrics() throws(StoreError) -> [String: [String: Double]] {
        try read { db in
            var out: [String: [String: Double]] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT stage, name, value FROM metrics ORDER BY time, rowid") {
                out[try r.required("stage", in: "metrics"), default: [:]][try r.required("name", in: "metrics")] = try r.required("value", in: "metrics")
            }
            return out
        }
    }

    /// A stage's series (step, value) per metric name, from its most recent run that logged any.
    public func series(stage: String) throws(StoreError) -> [String: [(Int?, Double)]] {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT run_id FROM metrics WHERE stage = ? ORDER BY time DESC, rowid DESC LIMIT 1",
                                             arguments: [stage]) else { return [:] }
            let run: String = try row.required("run_id", in: "metrics")
            var out: [String: [(Int?, Double)]] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT step, name, value FROM metrics WHERE stage = ? AND run_id = ? ORDER BY rowid",
                                      arguments: [stage, run]) {
                out[try r.required("name", in: "metrics"), default: []].append((try r.optional("step", in: "metrics"), try r.required("value", in: "metrics")))
            }
            return out
        }
    }

    // MARK: stat cache

    /// The stat cache's key of a file (`FileState`).
    public typealias FileState = AnnealEngine.FileState

    public func fileStates() throws(StoreError) -> [String: (FileState, String)] {
        try read { db in
            var out: [String: (FileState, String)] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT * FROM file_state") {
                let t = "file_state"
                let state = FileState(device: try r.required("device", in: t), inode: try r.required("inode", in: t),
                                      size: try r.required("size", in: t), mtimeNs: try r.required("mtime_ns", in: t))
                let digest: String = try r.required("digest", in: t)
                guard Digest.isValid(digest) else {
                    throw LedgerDamage(table: t, column: "digest", found: "the text '\(digest.prefix(40))'",
                                       expected: "a digest (64 lowercase hex digits)")
                }
                out[try r.required("path", in: t)] = (state, digest)
            }
            return out
        }
    }

    public func saveFileStates(_ states: [String: (FileState, String)]) throws(StoreError) {
        guard !states.isEmpty else { return }
        try write { db in
            for (path, (s, digest)) in states {
                try db.execute(sql: "INSERT OR REPLACE INTO file_state (path, device, inode, size, mtime_ns, digest) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [path, s.device, s.inode, s.size, s.mtimeNs, digest])
            }
        }
    }
}
