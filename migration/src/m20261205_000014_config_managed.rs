//! Configuration as code: which clients a configuration file manages, and the one-row table
//! `portcullis apply` writes first in its transaction. That write is the lock on SQLite (the
//! single writer: a second process waits for it); on PostgreSQL `pg_advisory_xact_lock`
//! comes before it. The row also says when a file was last applied, and its digest.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000014_config_managed"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum OauthClients {
    Table,
    /// `config` when a configuration file declares the client; NULL for console/CLI clients.
    ManagedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum ConfigState {
    Table,
    Id,
    AppliedAtMs,
    Source,
    Digest,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OauthClients::Table)
                    .add_column(string_len_null(OauthClients::ManagedBy, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConfigState::Table)
                    .if_not_exists()
                    .col(integer(ConfigState::Id).primary_key())
                    .col(big_integer(ConfigState::AppliedAtMs))
                    .col(text(ConfigState::Source))
                    .col(string_len(ConfigState::Digest, 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ConfigState::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(OauthClients::Table).drop_column(OauthClients::ManagedBy).to_owned())
            .await
    }
}
