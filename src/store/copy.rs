//! `copy-db`: every table of one database into an empty other (SQLite to PostgreSQL, or back),
//! verified. The tables and columns come from the source's catalogue at run time
//! ([`schema::tables`]), ordered so foreign keys hold; each column is read and written as the
//! *target* column's kind (a SQLite boolean is an integer, a PostgreSQL one a `bool`).
//!
//! The source is read in one snapshot (a read transaction; repeatable read on PostgreSQL);
//! the target is written in one transaction, batch by batch, and verified inside it before
//! the commit: row counts and a SHA-256 per table over the rows' normalised values (the row
//! digests sorted, so neither database's collation matters). A mismatch rolls everything back.

use anyhow::{Context, bail};
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};
use sha2::{Digest, Sha256};

use super::schema::{self, Column, Kind, Table, quoted};
use super::{Count, Db, Store, execute, query_one, query_rows};

/// Tables that may be left out (`--skip-sessions`): signed-in browsers sign in again.
pub const SESSION_TABLES: &[&str] = &["sessions"];

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub skip_sessions: bool,
    /// Rows per read and per insert statement.
    pub batch: usize,
}

/// One table's result.
#[derive(Debug, Clone)]
pub struct TableResult {
    pub name: String,
    /// `None` when skipped.
    pub source: Option<Tally>,
    pub target: Option<Tally>,
}

impl TableResult {
    pub fn matches(&self) -> bool {
        self.source == self.target
    }
}

/// Rows and checksum of one table on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub rows: u64,
    /// Hex SHA-256 over the sorted row digests.
    pub sha256: String,
}

/// What a run did: per table, and whether the target transaction was committed.
#[derive(Debug)]
pub struct CopyReport {
    pub tables: Vec<TableResult>,
    pub committed: bool,
}

/// A column to copy: its name and the kind both sides read it as.
struct Plan {
    table: Table,
    columns: Vec<(String, Kind)>,
    key: Vec<(String, Kind)>,
}

/// One value, normalised.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Real(f64),
    Bytes(Vec<u8>),
}

/// Copies `from` into `to` (migrated here first, and refused unless empty). `progress`
/// receives one line per batch and per step.
pub async fn copy(
    from: &Db,
    to: &Db,
    options: &CopyOptions,
    progress: &mut dyn FnMut(String),
) -> anyhow::Result<CopyReport> {
    let applied = super::backup::applied_migrations(from)
        .await
        .context("reading the source's migrations (is it a Portcullis database?)")?;
    super::backup::migrations_known(&applied).context("the source cannot be copied by this binary")?;
    let shipped = migration::Migrator::migrations().len();
    if applied.len() != shipped {
        bail!(
            "the source has {} of this version's {shipped} migrations: run `portcullis migrate` on it first",
            applied.len()
        );
    }
    progress("migrating the target".into());
    to.migrate().await?;
    let target_tables = schema::tables(to).await.context("reading the target's tables")?;
    let mut filled = Vec::new();
    for t in &target_tables {
        let n = count(to, &t.name).await?;
        if n > 0 {
            filled.push(format!("{} ({n} rows)", t.name));
        }
    }
    if !filled.is_empty() {
        bail!("the target is not empty: {}; copy-db only fills an empty database", filled.join(", "));
    }

    let source_tables = schema::tables(from).await.context("reading the source's tables")?;
    let mut results = Vec::new();
    let mut plans = Vec::new();
    for table in schema::in_dependency_order(source_tables)? {
        if options.skip_sessions && SESSION_TABLES.contains(&table.name.as_str()) {
            results.push(TableResult { name: table.name.clone(), source: None, target: None });
            continue;
        }
        plans.push(plan(table, &target_tables, to)?);
    }

    let src = from.begin().await?;
    if from.connection().get_database_backend() == DbBackend::Postgres {
        execute(&src, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", vec![]).await?;
    }
    let dst = to.begin().await?;
    let batch = options.batch.max(1);
    for p in &plans {
        let total = count(&src, &p.table.name).await?;
        let rows_per_insert = batch.min((30_000 / p.columns.len().max(1)).max(1));
        let mut copied = 0u64;
        let mut digests = Vec::new();
        let mut after: Option<Vec<Cell>> = None;
        loop {
            let rows = read_batch(&src, p, after.as_deref(), batch, copied).await?;
            if rows.is_empty() {
                break;
            }
            for chunk in rows.chunks(rows_per_insert) {
                insert(&dst, p, chunk).await?;
            }
            digests.extend(rows.iter().map(|r| row_digest(r)));
            copied += rows.len() as u64;
            after = rows.last().map(|r| key_of(p, r));
            progress(format!("{}: {copied}/{total} rows", p.table.name));
        }
        results.push(TableResult { name: p.table.name.clone(), source: Some(tally(digests)), target: None });
    }
    for p in &plans {
        progress(format!("verifying {}", p.table.name));
        let target = checksum(&dst, p, batch).await?;
        if let Some(r) = results.iter_mut().find(|r| r.name == p.table.name) {
            r.target = Some(target);
        }
    }
    drop(src);
    let committed = results.iter().all(TableResult::matches);
    if committed {
        dst.commit().await?;
    }
    Ok(CopyReport { tables: results, committed })
}

fn plan(table: Table, target_tables: &[Table], to: &Db) -> anyhow::Result<Plan> {
    let backend = to.connection().get_database_backend();
    let target = target_tables
        .iter()
        .find(|t| t.name == table.name)
        .with_context(|| format!("the target has no table {} (are both at the same version?)", table.name))?;
    let kind_of = |c: &Column| -> anyhow::Result<(String, Kind)> {
        let t =
            target.column(&c.name).with_context(|| format!("the target's {} has no column {}", table.name, c.name))?;
        let kind = schema::kind(backend, &t.declared).with_context(|| format!("{}.{}", table.name, c.name))?;
        Ok((c.name.clone(), kind))
    };
    let columns = table.columns.iter().map(kind_of).collect::<anyhow::Result<Vec<_>>>()?;
    let key = table.primary_key().into_iter().map(kind_of).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Plan { table, columns, key })
}

async fn count(db: &impl Store, table: &str) -> anyhow::Result<u64> {
    let n: Option<Count> = query_one(db, &format!("SELECT COUNT(*) AS n FROM {}", quoted(table)), vec![])
        .await
        .with_context(|| format!("counting {table}"))?;
    Ok(n.map_or(0, |c| c.n.max(0) as u64))
}

/// The next batch in primary-key order after `after` (keyset), or by offset for a table
/// without a primary key (in the snapshot, the order of all columns is stable).
async fn read_batch(
    db: &impl Store,
    p: &Plan,
    after: Option<&[Cell]>,
    batch: usize,
    offset: u64,
) -> anyhow::Result<Vec<Vec<Cell>>> {
    let backend = db.connection().get_database_backend();
    let cols: Vec<String> = p.columns.iter().map(|(c, _)| quoted(c)).collect();
    let mut sql = format!("SELECT {} FROM {}", cols.join(", "), quoted(&p.table.name));
    let mut values = Vec::new();
    if p.key.is_empty() {
        sql.push_str(&format!(" ORDER BY {} LIMIT {batch} OFFSET {offset}", cols.join(", ")));
    } else {
        let key: Vec<String> = p.key.iter().map(|(c, _)| quoted(c)).collect();
        if let Some(last) = after {
            let marks: Vec<String> = (1..=last.len()).map(|i| format!("${i}")).collect();
            sql.push_str(&format!(" WHERE ({}) > ({})", key.join(", "), marks.join(", ")));
            values = last.iter().zip(&p.key).map(|(cell, (_, kind))| bind(cell, *kind)).collect();
        }
        sql.push_str(&format!(" ORDER BY {} LIMIT {batch}", key.join(", ")));
    }
    let rows = query_rows(db, &sql, values).await.with_context(|| format!("reading {}", p.table.name))?;
    rows.iter()
        .map(|row| p.columns.iter().map(|(c, kind)| read(row, c, *kind, backend)).collect())
        .collect::<anyhow::Result<_>>()
        .with_context(|| format!("reading {}", p.table.name))
}

fn key_of(p: &Plan, row: &[Cell]) -> Vec<Cell> {
    p.key.iter().filter_map(|(k, _)| p.columns.iter().position(|(c, _)| c == k).map(|i| row[i].clone())).collect()
}

async fn insert(db: &impl Store, p: &Plan, rows: &[Vec<Cell>]) -> anyhow::Result<()> {
    let cols: Vec<String> = p.columns.iter().map(|(c, _)| quoted(c)).collect();
    let mut values = Vec::with_capacity(rows.len() * cols.len());
    let mut tuples = Vec::with_capacity(rows.len());
    for row in rows {
        let marks: Vec<String> = (0..cols.len()).map(|i| format!("${}", values.len() + i + 1)).collect();
        tuples.push(format!("({})", marks.join(", ")));
        values.extend(row.iter().zip(&p.columns).map(|(cell, (_, kind))| bind(cell, *kind)));
    }
    let sql = format!("INSERT INTO {} ({}) VALUES {}", quoted(&p.table.name), cols.join(", "), tuples.join(", "));
    execute(db, &sql, values).await.with_context(|| format!("writing {}", p.table.name))?;
    Ok(())
}

async fn checksum(db: &impl Store, p: &Plan, batch: usize) -> anyhow::Result<Tally> {
    let (mut digests, mut after, mut offset) = (Vec::new(), None::<Vec<Cell>>, 0u64);
    loop {
        let rows = read_batch(db, p, after.as_deref(), batch, offset).await?;
        if rows.is_empty() {
            return Ok(tally(digests));
        }
        digests.extend(rows.iter().map(|r| row_digest(r)));
        offset += rows.len() as u64;
        after = rows.last().map(|r| key_of(p, r));
    }
}

/// A column's value as `kind`, with the conversions the two databases need (an integer read
/// as a boolean, a boolean as an integer, a number kept in a text column as text).
fn read(row: &QueryResult, column: &str, kind: Kind, backend: DbBackend) -> anyhow::Result<Cell> {
    let int = || {
        row.try_get::<Option<i64>>("", column)
            .ok()
            .or_else(|| row.try_get::<Option<i32>>("", column).ok().map(|v| v.map(i64::from)))
    };
    let boolean = || row.try_get::<Option<bool>>("", column).ok();
    let text = || row.try_get::<Option<String>>("", column).ok();
    let cell = match kind {
        Kind::Int => int().map(|v| v.map(Cell::Int)).or_else(|| boolean().map(|v| v.map(|b| Cell::Int(i64::from(b))))),
        Kind::Bool => boolean().map(|v| v.map(Cell::Bool)).or_else(|| int().map(|v| v.map(|i| Cell::Bool(i != 0)))),
        Kind::Text => text().map(|v| v.map(Cell::Text)).or_else(|| int().map(|v| v.map(|i| Cell::Text(i.to_string())))),
        Kind::Real => row
            .try_get::<Option<f64>>("", column)
            .ok()
            .map(|v| v.map(Cell::Real))
            .or_else(|| int().map(|v| v.map(|i| Cell::Real(i as f64)))),
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>>("", column)
            .ok()
            .map(|v| v.map(Cell::Bytes))
            .or_else(|| text().map(|v| v.map(|s| Cell::Bytes(s.into_bytes())))),
    };
    match cell {
        Some(Some(cell)) => Ok(cell),
        Some(None) => Ok(Cell::Null),
        None => bail!("column {column} cannot be read as {kind:?} on {backend:?}"),
    }
}

/// A statement parameter of the column's kind (a NULL too carries its type: PostgreSQL
/// refuses a text NULL for a bigint column).
fn bind(cell: &Cell, kind: Kind) -> Value {
    match (cell, kind) {
        (Cell::Null, Kind::Int) => Value::BigInt(None),
        (Cell::Null, Kind::Bool) => Value::Bool(None),
        (Cell::Null, Kind::Text) => Value::String(None),
        (Cell::Null, Kind::Real) => Value::Double(None),
        (Cell::Null, Kind::Bytes) => Value::Bytes(None),
        (Cell::Int(i), _) => Value::BigInt(Some(*i)),
        (Cell::Bool(b), _) => Value::Bool(Some(*b)),
        (Cell::Text(s), _) => Value::String(Some(s.clone())),
        (Cell::Real(f), _) => Value::Double(Some(*f)),
        (Cell::Bytes(b), _) => Value::Bytes(Some(b.clone())),
    }
}

/// SHA-256 over a row's values, each tagged with its kind and length-prefixed.
fn row_digest(row: &[Cell]) -> [u8; 32] {
    let mut h = Sha256::new();
    for cell in row {
        let (tag, bytes): (u8, Vec<u8>) = match cell {
            Cell::Null => (b'n', vec![]),
            Cell::Int(i) => (b'i', i.to_be_bytes().to_vec()),
            Cell::Bool(b) => (b'b', vec![u8::from(*b)]),
            Cell::Text(s) => (b't', s.as_bytes().to_vec()),
            Cell::Real(f) => (b'r', f.to_bits().to_be_bytes().to_vec()),
            Cell::Bytes(b) => (b'x', b.clone()),
        };
        h.update([tag]);
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(&bytes);
    }
    h.finalize().into()
}

fn tally(mut digests: Vec<[u8; 32]>) -> Tally {
    digests.sort_unstable();
    let mut h = Sha256::new();
    for d in &digests {
        h.update(d);
    }
    let sha256 = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Tally { rows: digests.len() as u64, sha256 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_checksum_ignores_row_order_but_not_values_or_kinds() {
        let a = vec![Cell::Text("alice".into()), Cell::Bool(true), Cell::Int(7)];
        let b = vec![Cell::Text("bob".into()), Cell::Bool(false), Cell::Null];
        let sum = |rows: &[&Vec<Cell>]| tally(rows.iter().map(|r| row_digest(r)).collect());
        assert_eq!(sum(&[&a, &b]), sum(&[&b, &a]), "order does not matter");
        let changed = vec![Cell::Text("bob".into()), Cell::Bool(false), Cell::Int(0)];
        assert_ne!(sum(&[&a, &b]), sum(&[&a, &changed]), "NULL is not 0");
        let as_int = vec![Cell::Text("alice".into()), Cell::Int(1), Cell::Int(7)];
        assert_ne!(sum(&[&a]), sum(&[&as_int]), "a boolean is compared as a boolean");
        let split = vec![Cell::Text("ali".into()), Cell::Text("ce".into())];
        let joined = vec![Cell::Text("alic".into()), Cell::Text("e".into())];
        assert_ne!(sum(&[&split]), sum(&[&joined]), "values are length-prefixed");
    }
}
