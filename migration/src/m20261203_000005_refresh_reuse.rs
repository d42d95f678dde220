//! The instant a refresh token was rotated, in milliseconds. The opt-in grace window for
//! concurrent refreshes is measured in milliseconds (at most a few seconds), which whole
//! seconds cannot express: with seconds, a window of 0 still let a replay in the same second
//! through. `used_at` stays (whole seconds, like every other timestamp in the schema, for
//! housekeeping and "is it used" checks); `used_at_ms` is written in the same conditional
//! UPDATE, and tokens rotated before this migration get their second times 1000.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000005_refresh_reuse"
    }
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    UsedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .add_column(big_integer_null(RefreshTokens::UsedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE refresh_tokens SET used_at_ms = used_at * 1000 WHERE used_at IS NOT NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(RefreshTokens::Table).drop_column(RefreshTokens::UsedAtMs).to_owned())
            .await?;
        Ok(())
    }
}
