//! Schema migrations for Portcullis. The same migrations run on SQLite and PostgreSQL.
//! This crate imports nothing from the server: a migration is a fixed point in history.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_accounts;
mod m20261121_000002_mail;
mod m20261121_000003_oauth;
mod m20261121_000004_mfa;
mod m20261203_000007_mfa_budget;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_accounts::Migration),
            Box::new(m20261121_000002_mail::Migration),
            Box::new(m20261121_000003_oauth::Migration),
            Box::new(m20261121_000004_mfa::Migration),
            Box::new(m20261203_000007_mfa_budget::Migration),
        ]
    }
}
