//! Raw SQL for assertions, on any connection: a test app's, or a database opened beside a
//! server process the test started (crash safety) or migrated by hand.

use sea_orm::{ConnectionTrait, Statement};

/// One number from a query such as `SELECT COUNT(*) FROM users`.
pub async fn scalar(conn: &impl ConnectionTrait, sql: &str) -> i64 {
    one_row(conn, sql).await.try_get_by_index::<i64>(0).expect("an integer")
}

/// One text value from a query such as `SELECT password_hash FROM users WHERE …`.
pub async fn text(conn: &impl ConnectionTrait, sql: &str) -> String {
    one_row(conn, sql).await.try_get_by_index::<String>(0).expect("text")
}

async fn one_row(conn: &impl ConnectionTrait, sql: &str) -> sea_orm::QueryResult {
    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql.to_string()))
        .await
        .expect("query runs")
        .unwrap_or_else(|| panic!("a row for {sql}"))
}
