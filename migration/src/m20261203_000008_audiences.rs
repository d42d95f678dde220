//! Token audiences (issue 20): which clients may call the first-party account and admin APIs
//! (`api_access`), and which may introspect every client's access tokens (`introspect_any`).
//! The built-in API client is allowed the API. So is a client registered before this change
//! exactly as the README told operators to register an admin service
//! (`--grant client_credentials --scope admin`): it has no users' tokens, and the operator gave
//! it the admin API explicitly, so it keeps working. Every other client starts without either.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000008_audiences"
    }
}

#[derive(DeriveIden)]
enum OauthClients {
    Table,
    Id,
    GrantTypes,
    Scopes,
    ApiAccess,
    IntrospectAny,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [OauthClients::ApiAccess, OauthClients::IntrospectAny] {
            manager
                .alter_table(
                    Table::alter().table(OauthClients::Table).add_column(boolean(column).default(false)).to_owned(),
                )
                .await?;
        }
        manager
            .exec_stmt(
                Query::update()
                    .table(OauthClients::Table)
                    .value(OauthClients::ApiAccess, true)
                    .cond_where(
                        Cond::any().add(Expr::col(OauthClients::Id).eq("portcullis-api")).add(
                            Cond::all()
                                .add(Expr::col(OauthClients::GrantTypes).eq(r#"["client_credentials"]"#))
                                .add(Expr::col(OauthClients::Scopes).like(r#"%"admin"%"#)),
                        ),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [OauthClients::ApiAccess, OauthClients::IntrospectAny] {
            manager.alter_table(Table::alter().table(OauthClients::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
