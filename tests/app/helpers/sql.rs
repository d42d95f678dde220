//! Raw SQL for assertions through `store::inspect` (plain values, no SeaORM), on any `Db`: a
//! test app's, or a database opened beside a server process the test started (crash safety).

use portcullis::store::{Db, inspect};

/// One number from a query such as `SELECT COUNT(*) FROM users`.
pub async fn scalar(db: &Db, sql: &str) -> i64 {
    inspect::count(db, sql, vec![]).await.expect("one integer")
}

/// One text value from a query such as `SELECT password_hash FROM users WHERE …`.
pub async fn text(db: &Db, sql: &str) -> String {
    let first = inspect::strings(db, sql, vec![]).await.expect("query runs").into_iter().next();
    first.unwrap_or_else(|| panic!("a row for {sql}")).expect("text")
}
