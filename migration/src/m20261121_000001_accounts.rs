//! Users, browser sessions, login throttling counters and known devices.
//! Timestamps are Unix seconds (BIGINT): they compare the same way on every backend.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000001_accounts"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    EmailNormalized,
    EmailVerified,
    PasswordHash,
    DisplayName,
    IsAdmin,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    IdHash,
    UserId,
    Data,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Bucket,
    Failures,
    Refused,
    WindowStartedAt,
    LockedUntil,
}

#[derive(DeriveIden)]
enum KnownDevices {
    Table,
    TokenHash,
    UserId,
    CreatedAt,
    LastUsedAt,
    Failures,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(string_len(Users::Id, 36).primary_key())
                    .col(string_len(Users::Username, 64))
                    .col(string_len(Users::Email, 320))
                    .col(string_len(Users::EmailNormalized, 320))
                    .col(boolean(Users::EmailVerified).default(false))
                    .col(text(Users::PasswordHash))
                    .col(string_len(Users::DisplayName, 128).default(""))
                    .col(boolean(Users::IsAdmin).default(false))
                    .col(boolean(Users::Disabled).default(false))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in
            [("users_username_key", Users::Username), ("users_email_normalized_key", Users::EmailNormalized)]
        {
            manager
                .create_index(Index::create().name(name).table(Users::Table).col(column).unique().to_owned())
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string_len(Sessions::IdHash, 64).primary_key())
                    .col(string_len_null(Sessions::UserId, 36))
                    .col(text(Sessions::Data))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("sessions_user_fk")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [("sessions_user_idx", Sessions::UserId), ("sessions_expires_idx", Sessions::ExpiresAt)] {
            manager.create_index(Index::create().name(name).table(Sessions::Table).col(column).to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .col(string_len(LoginThrottle::Bucket, 400).primary_key())
                    .col(integer(LoginThrottle::Failures).default(0))
                    .col(integer(LoginThrottle::Refused).default(0))
                    .col(big_integer(LoginThrottle::WindowStartedAt).default(0))
                    .col(big_integer(LoginThrottle::LockedUntil).default(0))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KnownDevices::Table)
                    .col(string_len(KnownDevices::TokenHash, 64).primary_key())
                    .col(string_len(KnownDevices::UserId, 36))
                    .col(big_integer(KnownDevices::CreatedAt))
                    .col(big_integer(KnownDevices::LastUsedAt))
                    .col(integer(KnownDevices::Failures).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("known_devices_user_fk")
                            .from(KnownDevices::Table, KnownDevices::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("known_devices_user_idx")
                    .table(KnownDevices::Table)
                    .col(KnownDevices::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            KnownDevices::Table.into_iden(),
            LoginThrottle::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
