//! The device authorization grant (RFC 8628): one row per `POST /device/authorize`.
//! Both codes are stored as SHA-256 hashes (the device code's, the primary key; the user
//! code's, normalized to its 8 letters, unique). `status` walks `pending` → `approved` or
//! `denied` (the person's answer on `/device`, a conditional update) → `redeemed` (the token
//! endpoint, a conditional update, so a code is redeemed once). `interval_secs` and
//! `last_poll_at` pace the device's polling (`slow_down` raises the interval). Times are Unix
//! seconds from the application clock.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000018_device_codes"
    }
}

#[derive(DeriveIden)]
enum DeviceCodes {
    Table,
    DeviceCodeHash,
    UserCodeHash,
    ClientId,
    Scope,
    /// `pending`, `approved`, `denied` or `redeemed`.
    Status,
    UserId,
    AuthTime,
    /// The approving session's authentication methods, space-separated.
    Amr,
    IntervalSecs,
    LastPollAt,
    CreatedAt,
    ExpiresAt,
    DecidedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DeviceCodes::Table)
                    .col(string_len(DeviceCodes::DeviceCodeHash, 64).primary_key())
                    .col(string_len(DeviceCodes::UserCodeHash, 64))
                    .col(string(DeviceCodes::ClientId))
                    .col(text(DeviceCodes::Scope))
                    .col(string_len(DeviceCodes::Status, 16))
                    .col(string_null(DeviceCodes::UserId))
                    .col(big_integer_null(DeviceCodes::AuthTime))
                    .col(text_null(DeviceCodes::Amr))
                    .col(integer(DeviceCodes::IntervalSecs))
                    .col(big_integer_null(DeviceCodes::LastPollAt))
                    .col(big_integer(DeviceCodes::CreatedAt))
                    .col(big_integer(DeviceCodes::ExpiresAt))
                    .col(big_integer_null(DeviceCodes::DecidedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_device_codes_user_code")
                    .table(DeviceCodes::Table)
                    .col(DeviceCodes::UserCodeHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_device_codes_expires")
                    .table(DeviceCodes::Table)
                    .col(DeviceCodes::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DeviceCodes::Table).to_owned()).await
    }
}
