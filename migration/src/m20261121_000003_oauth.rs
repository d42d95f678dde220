//! OAuth clients, signing keys, grants (the unit of revocation), authorization codes,
//! refresh tokens, consents and revoked access-token ids.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000003_oauth"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OauthClients {
    Table,
    Id,
    Name,
    SecretHash,
    IsPublic,
    FirstParty,
    RedirectUris,
    PostLogoutRedirectUris,
    GrantTypes,
    Scopes,
    Audiences,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    PrivateKey,
    PublicJwk,
    CreatedAt,
    ActivatesAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Id,
    UserId,
    ClientId,
    Sid,
    Offline,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    CodeHash,
    GrantId,
    ClientId,
    UserId,
    RedirectUri,
    Scope,
    Nonce,
    CodeChallenge,
    AuthTime,
    Amr,
    Sid,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    GrantId,
    ClientId,
    UserId,
    Scope,
    AuthTime,
    Amr,
    CreatedAt,
    ExpiresAt,
    IdleExpiresAt,
    UsedAt,
    Successor,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    UserId,
    ClientId,
    Scope,
    GrantedAt,
}

#[derive(DeriveIden)]
enum RevokedTokens {
    Table,
    Jti,
    ExpiresAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthClients::Table)
                    .col(string_len(OauthClients::Id, 128).primary_key())
                    .col(string_len(OauthClients::Name, 128))
                    .col(string_len_null(OauthClients::SecretHash, 64))
                    .col(boolean(OauthClients::IsPublic))
                    .col(boolean(OauthClients::FirstParty))
                    .col(text(OauthClients::RedirectUris))
                    .col(text(OauthClients::PostLogoutRedirectUris))
                    .col(text(OauthClients::GrantTypes))
                    .col(text(OauthClients::Scopes))
                    .col(text(OauthClients::Audiences))
                    .col(big_integer(OauthClients::CreatedAt))
                    .col(big_integer(OauthClients::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string_len(SigningKeys::Kid, 64).primary_key())
                    .col(string_len(SigningKeys::Alg, 16))
                    .col(text(SigningKeys::PrivateKey))
                    .col(text(SigningKeys::PublicJwk))
                    .col(big_integer(SigningKeys::CreatedAt))
                    .col(big_integer(SigningKeys::ActivatesAt))
                    .col(big_integer_null(SigningKeys::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Grants::Table)
                    .col(string_len(Grants::Id, 36).primary_key())
                    .col(string_len(Grants::UserId, 36))
                    .col(string_len(Grants::ClientId, 128))
                    .col(string_len_null(Grants::Sid, 64))
                    .col(boolean(Grants::Offline))
                    .col(big_integer(Grants::CreatedAt))
                    .col(big_integer_null(Grants::RevokedAt))
                    .foreign_key(&mut fk("grants_user_fk", (Grants::Table, Grants::UserId), (Users::Table, Users::Id)))
                    .foreign_key(&mut fk(
                        "grants_client_fk",
                        (Grants::Table, Grants::ClientId),
                        (OauthClients::Table, OauthClients::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [("grants_user_idx", Grants::UserId), ("grants_sid_idx", Grants::Sid)] {
            manager.create_index(Index::create().name(name).table(Grants::Table).col(col).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuthorizationCodes::Table)
                    .col(string_len(AuthorizationCodes::CodeHash, 64).primary_key())
                    .col(string_len(AuthorizationCodes::GrantId, 36))
                    .col(string_len(AuthorizationCodes::ClientId, 128))
                    .col(string_len(AuthorizationCodes::UserId, 36))
                    .col(text(AuthorizationCodes::RedirectUri))
                    .col(text(AuthorizationCodes::Scope))
                    .col(text_null(AuthorizationCodes::Nonce))
                    .col(string_len(AuthorizationCodes::CodeChallenge, 64))
                    .col(big_integer(AuthorizationCodes::AuthTime))
                    .col(text(AuthorizationCodes::Amr))
                    .col(string_len_null(AuthorizationCodes::Sid, 64))
                    .col(big_integer(AuthorizationCodes::ExpiresAt))
                    .col(big_integer_null(AuthorizationCodes::UsedAt))
                    .foreign_key(&mut fk(
                        "codes_grant_fk",
                        (AuthorizationCodes::Table, AuthorizationCodes::GrantId),
                        (Grants::Table, Grants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(string_len(RefreshTokens::TokenHash, 64).primary_key())
                    .col(string_len(RefreshTokens::GrantId, 36))
                    .col(string_len(RefreshTokens::ClientId, 128))
                    .col(string_len(RefreshTokens::UserId, 36))
                    .col(text(RefreshTokens::Scope))
                    .col(big_integer(RefreshTokens::AuthTime))
                    .col(text(RefreshTokens::Amr))
                    .col(big_integer(RefreshTokens::CreatedAt))
                    .col(big_integer(RefreshTokens::ExpiresAt))
                    .col(big_integer(RefreshTokens::IdleExpiresAt))
                    .col(big_integer_null(RefreshTokens::UsedAt))
                    .col(text_null(RefreshTokens::Successor))
                    .foreign_key(&mut fk(
                        "refresh_grant_fk",
                        (RefreshTokens::Table, RefreshTokens::GrantId),
                        (Grants::Table, Grants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refresh_grant_idx")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::GrantId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Consents::Table)
                    .col(string_len(Consents::UserId, 36))
                    .col(string_len(Consents::ClientId, 128))
                    .col(text(Consents::Scope))
                    .col(big_integer(Consents::GrantedAt))
                    .primary_key(Index::create().col(Consents::UserId).col(Consents::ClientId))
                    .foreign_key(&mut fk(
                        "consents_user_fk",
                        (Consents::Table, Consents::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut fk(
                        "consents_client_fk",
                        (Consents::Table, Consents::ClientId),
                        (OauthClients::Table, OauthClients::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedTokens::Table)
                    .col(string_len(RevokedTokens::Jti, 64).primary_key())
                    .col(big_integer(RevokedTokens::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RevokedTokens::Table.into_iden(),
            Consents::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            AuthorizationCodes::Table.into_iden(),
            Grants::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            OauthClients::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
