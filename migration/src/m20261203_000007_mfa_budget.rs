//! Second-factor budgets that cannot be raced, and keyed recovery-code hashes:
//! * `mfa_challenges`: one row per sign-in waiting for its second factor (the JSON
//!   `mfa_token` and the hosted pages' pending step alike). Each wrong code is reserved on
//!   the row with a conditional `UPDATE` before the code is checked; the row is used once.
//! * `recovery_codes.hash_scheme`: how `code_hash` was computed. Rows written before this
//!   migration are plain SHA-256 (`sha256`); the server re-keys them with HMAC at start.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000007_mfa_budget"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    HashScheme,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
    Failures,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RecoveryCodes::Table)
                    .add_column(string_len(RecoveryCodes::HashScheme, 16).default("sha256"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MfaChallenges::Table)
                    .col(string_len(MfaChallenges::TokenHash, 64).primary_key())
                    .col(string_len(MfaChallenges::UserId, 36))
                    .col(big_integer(MfaChallenges::CreatedAt))
                    .col(big_integer(MfaChallenges::ExpiresAt))
                    .col(integer(MfaChallenges::Failures).default(0))
                    .col(big_integer_null(MfaChallenges::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("mfa_challenges_user_fk")
                            .from(MfaChallenges::Table, MfaChallenges::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("mfa_challenges_user_idx", MfaChallenges::UserId),
            ("mfa_challenges_expiry_idx", MfaChallenges::ExpiresAt),
        ] {
            manager.create_index(Index::create().name(name).table(MfaChallenges::Table).col(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MfaChallenges::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(RecoveryCodes::Table).drop_column(RecoveryCodes::HashScheme).to_owned())
            .await
    }
}
