import Foundation
import GRDB

/// Reads behind `anneal metrics STAGE --watch`, which polls the ledger while a run writes it
/// (WAL: readers never wait for the writer).
extension Ledger {
    /// The stage's most recent execution in any run: `running` while it trains.
    public func latestExecution(stage: String) throws(StoreError) -> Execution? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM executions WHERE stage = ? ORDER BY started DESC, rowid DESC LIMIT 1",
                             arguments: [stage]).map(Self.execution)
        }
    }
}
