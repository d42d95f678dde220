//! The audit log: an append-only table of security events. Rows are written in the same
//! transaction as the change they record; a trigger refuses every UPDATE on both databases
//! (only the retention purge deletes, and only rows older than the retention period).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000011_audit"
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    /// UUID v7 text: sorts by time, the cursor of the events API.
    Id,
    /// Unix milliseconds, from the application clock.
    AtMs,
    Kind,
    Actor,
    UserId,
    ClientId,
    Ip,
    UserAgent,
    RequestId,
    /// A small JSON object.
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(string(AuditEvents::Id).primary_key())
                    .col(big_integer(AuditEvents::AtMs))
                    .col(string(AuditEvents::Kind))
                    .col(string_null(AuditEvents::Actor))
                    .col(string_null(AuditEvents::UserId))
                    .col(string_null(AuditEvents::ClientId))
                    .col(string_null(AuditEvents::Ip))
                    .col(string_null(AuditEvents::UserAgent))
                    .col(string_null(AuditEvents::RequestId))
                    .col(text(AuditEvents::Detail))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_audit_at", vec![AuditEvents::AtMs]),
            ("idx_audit_user", vec![AuditEvents::UserId, AuditEvents::Id]),
            ("idx_audit_kind", vec![AuditEvents::Kind, AuditEvents::Id]),
            ("idx_audit_client", vec![AuditEvents::ClientId, AuditEvents::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events \
                     FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events \
                     BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditEvents::Table).to_owned()).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("DROP FUNCTION IF EXISTS audit_events_append_only()").await?;
        }
        Ok(())
    }
}
