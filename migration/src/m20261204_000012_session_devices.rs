//! Where a person is signed in: each browser session gets a public id (random, unrelated to
//! the secret session id; what the person and an admin see and end a session by), the user
//! agent and IP it was last seen from, when it signed in and when it was last seen, and the
//! `sid` of its sign-in (so ending it also ends the grants it made, as logout does).
//!
//! Rows from before keep NULLs until their next request fills them in (a migration cannot
//! draw random ids the same way on both databases).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000012_session_devices"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    PublicId,
    Sid,
    UserAgent,
    Ip,
    SignedInAt,
    LastSeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            string_len_null(Sessions::PublicId, 32),
            string_len_null(Sessions::Sid, 64),
            text_null(Sessions::UserAgent),
            string_len_null(Sessions::Ip, 45),
            big_integer_null(Sessions::SignedInAt),
            big_integer_null(Sessions::LastSeenAt),
        ] {
            let mut column = column;
            manager.alter_table(Table::alter().table(Sessions::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("sessions_public_id_idx")
                    .table(Sessions::Table)
                    .col(Sessions::PublicId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("sessions_public_id_idx").table(Sessions::Table).to_owned()).await?;
        for column in [
            Sessions::LastSeenAt,
            Sessions::SignedInAt,
            Sessions::Ip,
            Sessions::UserAgent,
            Sessions::Sid,
            Sessions::PublicId,
        ] {
            manager.alter_table(Table::alter().table(Sessions::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
