//! Passkeys (WebAuthn credentials): one row per credential a person registered, and one
//! random user handle per person (what authenticators store as `user.id`; never the username
//! or the address, so a passkey reveals nothing about whose it is).
//!
//! A credential keeps what the ceremonies check and what the profile shows: the credential
//! id, the credential as the WebAuthn library serializes it (public key, algorithm), the
//! sign counter, the backup flags, transports, AAGUID, whether it was registered with user
//! verification, a flag set when its counter went backwards, and created / last used times.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000017_passkeys"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Passkeys {
    Table,
    Id,
    UserId,
    CredentialId,
    Name,
    Credential,
    SignCount,
    BackupEligible,
    BackupState,
    Transports,
    Aaguid,
    UserVerified,
    CounterFlagged,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PasskeyHandles {
    Table,
    UserId,
    Handle,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .col(string_len(Passkeys::Id, 36).primary_key())
                    .col(string_len(Passkeys::UserId, 36))
                    .col(string_len(Passkeys::CredentialId, 1400))
                    .col(string_len(Passkeys::Name, 64))
                    .col(text(Passkeys::Credential))
                    .col(big_integer(Passkeys::SignCount))
                    .col(boolean(Passkeys::BackupEligible))
                    .col(boolean(Passkeys::BackupState))
                    .col(string_len(Passkeys::Transports, 200))
                    .col(string_len(Passkeys::Aaguid, 36))
                    .col(boolean(Passkeys::UserVerified))
                    .col(boolean(Passkeys::CounterFlagged).default(false))
                    .col(big_integer(Passkeys::CreatedAt))
                    .col(big_integer_null(Passkeys::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("passkeys_user_fk")
                            .from(Passkeys::Table, Passkeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("passkeys_credential_id_idx")
                    .table(Passkeys::Table)
                    .col(Passkeys::CredentialId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("passkeys_user_idx").table(Passkeys::Table).col(Passkeys::UserId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PasskeyHandles::Table)
                    .col(string_len(PasskeyHandles::UserId, 36).primary_key())
                    .col(string_len(PasskeyHandles::Handle, 36))
                    .foreign_key(
                        ForeignKey::create()
                            .name("passkey_handles_user_fk")
                            .from(PasskeyHandles::Table, PasskeyHandles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("passkey_handles_handle_idx")
                    .table(PasskeyHandles::Table)
                    .col(PasskeyHandles::Handle)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PasskeyHandles::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Passkeys::Table).to_owned()).await
    }
}
