//! A person's language (`en`, `de`, `fr` …): set on the profile page, by the language picker
//! while signed in, or through the profile API; the hosted pages and the mail sent to them
//! use it. NULL: no choice made (the browser's language decides).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000022_user_locale"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Locale,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Users::Table).add_column(string_len_null(Users::Locale, 16)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::Locale).to_owned()).await
    }
}
