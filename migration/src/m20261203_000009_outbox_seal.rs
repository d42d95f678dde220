//! Mail at rest: the outbox keeps a message sealed (`sealed`, AES-256-GCM under a key derived
//! from SECRET_KEY) instead of its rendered bodies, and blanks it once delivered or given up;
//! `mail_jobs` holds work the mail worker decides on off the request path (a password-reset
//! request carries only its sealed address, so the request does the same work whether or
//! not the address has an account).
//!
//! Rows already delivered or given up lose their cleartext bodies here; mail still pending
//! from before keeps them until it is delivered (the key is not available to a migration).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000009_outbox_seal"
    }
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Sealed,
}

#[derive(DeriveIden)]
enum MailJobs {
    Table,
    Id,
    Kind,
    Sealed,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(MailOutbox::Table).add_column(text_null(MailOutbox::Sealed)).to_owned())
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE mail_outbox SET body_text = '', body_html = '' WHERE status <> 'pending'")
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailJobs::Table)
                    .col(string_len(MailJobs::Id, 36).primary_key())
                    .col(string_len(MailJobs::Kind, 32))
                    .col(text(MailJobs::Sealed))
                    .col(integer(MailJobs::Attempts).default(0))
                    .col(big_integer(MailJobs::NextAttemptAt))
                    .col(big_integer(MailJobs::LockedUntil).default(0))
                    .col(big_integer(MailJobs::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_jobs_due_idx")
                    .table(MailJobs::Table)
                    .col(MailJobs::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MailJobs::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(MailOutbox::Table).drop_column(MailOutbox::Sealed).to_owned()).await
    }
}
