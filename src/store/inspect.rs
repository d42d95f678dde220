//! Plain-value access to any table, for tests and operators: a count, a column of text, rows
//! as JSON objects, a statement's affected rows. Parameters and results are plain Rust
//! values, so no caller outside the store sees a SeaORM type. Handlers and the domain use the
//! named repository functions instead.

use anyhow::Context;
use sea_orm::{DbBackend, QueryResult};
use serde_json::{Map, Value};

use super::{Db, execute, query_rows};

/// A statement parameter (`$1`, `$2`, …).
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
    Bool(bool),
    Null,
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Self::Text(v.to_string())
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<bool> for Param {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

fn values(params: Vec<Param>) -> Vec<sea_orm::Value> {
    params
        .into_iter()
        .map(|p| match p {
            Param::Text(s) => s.into(),
            Param::Int(i) => i.into(),
            Param::Bool(b) => b.into(),
            Param::Null => sea_orm::Value::String(None),
        })
        .collect()
}

/// Which database the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend(db: &Db) -> Backend {
    match db.conn.get_database_backend() {
        DbBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// Runs a statement; the rows it affected.
pub async fn execute_sql(db: &Db, sql: &str, params: Vec<Param>) -> anyhow::Result<u64> {
    execute(db, sql, values(params)).await.with_context(|| format!("running {sql}"))
}

/// The integer in the first column of the first row (`SELECT COUNT(*) …`).
pub async fn count(db: &Db, sql: &str, params: Vec<Param>) -> anyhow::Result<i64> {
    let rows = query_rows(db, sql, values(params)).await.with_context(|| format!("running {sql}"))?;
    let row = rows.first().with_context(|| format!("no row from {sql}"))?;
    let column = row.column_names().into_iter().next().with_context(|| format!("no column from {sql}"))?;
    match value(row, &column) {
        Value::Number(n) => n.as_i64().with_context(|| format!("{sql}: {n} is not an integer")),
        other => anyhow::bail!("{sql}: {other} is not an integer"),
    }
}

/// The first column of every row, as text (`None` for NULL).
pub async fn strings(db: &Db, sql: &str, params: Vec<Param>) -> anyhow::Result<Vec<Option<String>>> {
    let rows = query_rows(db, sql, values(params)).await.with_context(|| format!("running {sql}"))?;
    rows.iter()
        .map(|row| {
            let column = row.column_names().into_iter().next().with_context(|| format!("no column from {sql}"))?;
            Ok(row.try_get::<Option<String>>("", &column)?)
        })
        .collect()
}

/// Every row as a JSON object keyed by column name (integers, text, booleans, reals, null).
pub async fn rows(db: &Db, sql: &str, params: Vec<Param>) -> anyhow::Result<Vec<Value>> {
    let rows = query_rows(db, sql, values(params)).await.with_context(|| format!("running {sql}"))?;
    Ok(rows
        .iter()
        .map(|row| {
            Value::Object(row.column_names().into_iter().map(|c| (c.clone(), value(row, &c))).collect::<Map<_, _>>())
        })
        .collect())
}

/// One column's value, whatever its type (each backend decodes only its own column types,
/// so the readers are tried in turn).
fn value(row: &QueryResult, column: &str) -> Value {
    if let Ok(v) = row.try_get::<Option<i64>>("", column) {
        return v.map_or(Value::Null, Value::from);
    }
    if let Ok(v) = row.try_get::<Option<i32>>("", column) {
        return v.map_or(Value::Null, Value::from);
    }
    if let Ok(v) = row.try_get::<Option<String>>("", column) {
        return v.map_or(Value::Null, Value::from);
    }
    if let Ok(v) = row.try_get::<Option<bool>>("", column) {
        return v.map_or(Value::Null, Value::from);
    }
    if let Ok(v) = row.try_get::<Option<f64>>("", column) {
        return v.map_or(Value::Null, Value::from);
    }
    Value::Null
}
