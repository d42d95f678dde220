//! The tables of a database as its own catalogue describes them at run time (SQLite's
//! `sqlite_master` and `pragma_table_info`, PostgreSQL's `information_schema` and
//! `pg_constraint`): names, columns with their declared types and primary-key positions, and
//! the tables each one's foreign keys point to. `copy-db` works from this, so a table or
//! column a migration adds is copied without a change here.

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult};

use super::{Store, query_all};

/// The bookkeeping table of the migrator: never copied, never counted as data.
pub const MIGRATIONS_TABLE: &str = "seaql_migrations";

/// How a column's values are read, compared and written, whatever the database: SQLite keeps
/// booleans as integers, PostgreSQL has `bool`; both agree once read as the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Text,
    Real,
    Bytes,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// The type as the database declares it (`bigint`, `character varying`, `boolean` …).
    pub declared: String,
    /// Position in the primary key, from 1; 0 when not part of it.
    pub pk: i64,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// Tables this one's foreign keys reference (itself excluded).
    pub parents: Vec<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Primary-key columns in key order.
    pub fn primary_key(&self) -> Vec<&Column> {
        let mut pk: Vec<&Column> = self.columns.iter().filter(|c| c.pk > 0).collect();
        pk.sort_by_key(|c| c.pk);
        pk
    }
}

#[derive(Debug, FromQueryResult)]
struct NameRow {
    name: String,
}

#[derive(Debug, FromQueryResult)]
struct ColumnRow {
    name: String,
    declared: String,
    pk: i64,
}

#[derive(Debug, FromQueryResult)]
struct ParentRow {
    parent: String,
}

/// Every application table (all but the migrations table), sorted by name.
pub async fn tables(db: &impl Store) -> anyhow::Result<Vec<Table>> {
    let backend = db.connection().get_database_backend();
    let (names_sql, columns_sql, parents_sql) = match backend {
        DbBackend::Postgres => (
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
            "SELECT c.column_name::text AS name, c.data_type::text AS declared, \
               COALESCE((SELECT k.ordinal_position::bigint FROM information_schema.table_constraints t \
                 JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name \
                   AND k.table_schema = t.table_schema AND k.table_name = t.table_name \
                 WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema \
                   AND t.table_name = c.table_name AND k.column_name = c.column_name), 0) AS pk \
             FROM information_schema.columns c \
             WHERE c.table_schema = current_schema() AND c.table_name = $1 ORDER BY c.ordinal_position",
            "SELECT DISTINCT p.relname::text AS parent FROM pg_constraint f \
             JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class p ON p.oid = f.confrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE f.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1",
        ),
        _ => (
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            "SELECT name, type AS declared, pk FROM pragma_table_info($1) ORDER BY cid",
            "SELECT DISTINCT \"table\" AS parent FROM pragma_foreign_key_list($1)",
        ),
    };
    let names: Vec<NameRow> = query_all(db, names_sql, vec![]).await.context("listing the tables")?;
    let mut tables = Vec::new();
    for NameRow { name } in names.into_iter().filter(|t| t.name != MIGRATIONS_TABLE) {
        let columns: Vec<ColumnRow> =
            query_all(db, columns_sql, vec![name.clone().into()]).await.with_context(|| format!("reading {name}"))?;
        let parents: Vec<ParentRow> =
            query_all(db, parents_sql, vec![name.clone().into()]).await.with_context(|| format!("reading {name}"))?;
        tables.push(Table {
            columns: columns.into_iter().map(|c| Column { name: c.name, declared: c.declared, pk: c.pk }).collect(),
            parents: parents.into_iter().map(|p| p.parent).filter(|p| *p != name).collect(),
            name,
        });
    }
    Ok(tables)
}

/// The kind of a declared column type (SQLite's affinity rules, PostgreSQL's type names); an
/// unknown type is refused rather than copied approximately.
pub fn kind(backend: DbBackend, declared: &str) -> anyhow::Result<Kind> {
    let t = declared.to_ascii_lowercase();
    let kind = match backend {
        DbBackend::Postgres => match t.as_str() {
            "boolean" => Kind::Bool,
            "smallint" | "integer" | "bigint" => Kind::Int,
            "text" | "character varying" | "character" => Kind::Text,
            "real" | "double precision" => Kind::Real,
            "bytea" => Kind::Bytes,
            _ => bail!("column type {declared} is not supported"),
        },
        _ if t.contains("bool") => Kind::Bool,
        _ if t.contains("int") => Kind::Int,
        _ if t.contains("char") || t.contains("clob") || t.contains("text") => Kind::Text,
        _ if t.contains("real") || t.contains("floa") || t.contains("doub") => Kind::Real,
        _ if t.contains("blob") || t.is_empty() => Kind::Bytes,
        _ => bail!("column type {declared} is not supported"),
    };
    Ok(kind)
}

/// The tables in an order where every table comes after the tables it references, so rows
/// can be inserted with foreign keys enforced. References to tables not in the list are
/// ignored; a cycle is refused.
pub fn in_dependency_order(mut pending: Vec<Table>) -> anyhow::Result<Vec<Table>> {
    let names: Vec<String> = pending.iter().map(|t| t.name.clone()).collect();
    let mut ordered: Vec<Table> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|t| t.parents.iter().all(|p| !names.contains(p) || ordered.iter().any(|done| done.name == *p)));
        match ready {
            Some(i) => ordered.push(pending.remove(i)),
            None => {
                let left: Vec<&str> = pending.iter().map(|t| t.name.as_str()).collect();
                bail!("the foreign keys between {} form a cycle", left.join(", "))
            }
        }
    }
    Ok(ordered)
}

/// A quoted identifier (`"name"`, inner quotes doubled).
pub fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, parents: &[&str]) -> Table {
        Table { name: name.into(), columns: vec![], parents: parents.iter().map(|p| p.to_string()).collect() }
    }

    #[test]
    fn parents_come_before_the_tables_that_reference_them() {
        let tables = vec![
            table("grants", &["users", "clients"]),
            table("codes", &["grants"]),
            table("users", &[]),
            table("clients", &["elsewhere"]),
        ];
        let order: Vec<String> = in_dependency_order(tables).unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(order, ["users", "clients", "grants", "codes"]);
        let cycle = in_dependency_order(vec![table("a", &["b"]), table("b", &["a"])]);
        assert!(cycle.unwrap_err().to_string().contains("cycle"));
    }

    #[test]
    fn declared_types_map_to_one_kind_on_both_databases() {
        let cases = [
            (DbBackend::Sqlite, "boolean", Kind::Bool),
            (DbBackend::Postgres, "boolean", Kind::Bool),
            (DbBackend::Sqlite, "bigint", Kind::Int),
            (DbBackend::Postgres, "bigint", Kind::Int),
            (DbBackend::Postgres, "integer", Kind::Int),
            (DbBackend::Sqlite, "varchar(36)", Kind::Text),
            (DbBackend::Postgres, "character varying", Kind::Text),
            (DbBackend::Sqlite, "text", Kind::Text),
            (DbBackend::Postgres, "bytea", Kind::Bytes),
        ];
        for (backend, declared, expected) in cases {
            assert_eq!(kind(backend, declared).unwrap(), expected, "{backend:?} {declared}");
        }
        assert!(kind(DbBackend::Postgres, "jsonb").is_err(), "an unknown type is refused, not guessed");
    }
}
