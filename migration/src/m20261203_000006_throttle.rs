//! Login throttling, second version: in-flight password checks are reserved (so only
//! completed failures count, while the number of unresolved checks stays bounded), failures
//! decay, and every counter row says when it stops mattering, so housekeeping can purge it.
//! Counters keyed by the old scheme (`acct:<user id>`, `name:<login name>`) are dropped:
//! the new keys are keyed hashes of the login name as typed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000006_throttle"
    }
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    InFlight,
    InFlightSince,
    LastFailureAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            integer(LoginThrottle::InFlight).default(0).to_owned(),
            big_integer(LoginThrottle::InFlightSince).default(0).to_owned(),
            big_integer(LoginThrottle::LastFailureAt).default(0).to_owned(),
            big_integer(LoginThrottle::ExpiresAt).default(0).to_owned(),
        ] {
            let mut column = column;
            manager.alter_table(Table::alter().table(LoginThrottle::Table).add_column(&mut column).to_owned()).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared("DELETE FROM login_throttle WHERE bucket LIKE 'acct:%' OR bucket LIKE 'name:%'").await?;
        // Window counters from before: kept for a day at most.
        db.execute_unprepared(
            "UPDATE login_throttle SET expires_at = window_started_at + 86400 WHERE window_started_at > 0",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("login_throttle_expires_idx")
                    .table(LoginThrottle::Table)
                    .col(LoginThrottle::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("login_throttle_expires_idx").table(LoginThrottle::Table).to_owned())
            .await?;
        for column in [
            LoginThrottle::InFlight,
            LoginThrottle::InFlightSince,
            LoginThrottle::LastFailureAt,
            LoginThrottle::ExpiresAt,
        ] {
            manager.alter_table(Table::alter().table(LoginThrottle::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
