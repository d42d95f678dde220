//! Per-client ID-token settings (OIDC Dynamic Client Registration §2 names the first):
//! `id_token_signed_response_alg`, the JWS algorithm of the client's ID tokens (NULL: the
//! server's `tokens.id_token_alg`, RS256 unless configured), and `id_token_on_refresh`,
//! whether a refresh response carries a new ID token (OIDC Core §12.2 allows omitting it;
//! existing clients keep getting one).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000016_client_token_alg"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum OauthClients {
    Table,
    IdTokenSignedResponseAlg,
    IdTokenOnRefresh,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            string_len_null(OauthClients::IdTokenSignedResponseAlg, 16),
            boolean(OauthClients::IdTokenOnRefresh).default(true).to_owned(),
        ] {
            let mut column = column;
            manager.alter_table(Table::alter().table(OauthClients::Table).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [OauthClients::IdTokenOnRefresh, OauthClients::IdTokenSignedResponseAlg] {
            manager.alter_table(Table::alter().table(OauthClients::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
