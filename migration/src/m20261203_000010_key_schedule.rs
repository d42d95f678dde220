//! Scheduled key rotation: a key's end of signing (`retires_at`) is stored apart from its
//! removal from the JWKS (`expires_at`), and one `key_schedule` row says when the keys were
//! last rotated, so the nodes sharing a database claim each scheduled rotation with a
//! compare-and-set on it (exactly one node rotates).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000010_key_schedule"
    }
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    RetiresAt,
}

#[derive(DeriveIden)]
enum KeySchedule {
    Table,
    Id,
    RotatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SigningKeys::Table)
                    .add_column(big_integer_null(SigningKeys::RetiresAt))
                    .to_owned(),
            )
            .await?;
        // Keys retired by the old `keys rotate` kept signing until their successor of the same
        // algorithm became active: that moment is when they retired.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE signing_keys SET retires_at = (SELECT MIN(n.activates_at) FROM signing_keys n \
                 WHERE n.alg = signing_keys.alg AND n.activates_at > signing_keys.activates_at) \
                 WHERE expires_at IS NOT NULL",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeySchedule::Table)
                    .col(integer(KeySchedule::Id).primary_key())
                    .col(big_integer(KeySchedule::RotatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(KeySchedule::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(SigningKeys::Table).drop_column(SigningKeys::RetiresAt).to_owned())
            .await?;
        Ok(())
    }
}
