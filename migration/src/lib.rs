//! Schema migrations for Portcullis. The same migrations run on SQLite and PostgreSQL.
//! This crate imports nothing from the server: a migration is a fixed point in history.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_accounts;
mod m20261121_000002_mail;
mod m20261121_000003_oauth;
mod m20261121_000004_mfa;
mod m20261203_000005_refresh_reuse;
mod m20261203_000006_throttle;
mod m20261203_000007_mfa_budget;
mod m20261203_000008_audiences;
mod m20261203_000009_outbox_seal;
mod m20261203_000010_key_schedule;
mod m20261204_000011_audit;
mod m20261204_000012_session_devices;
mod m20261204_000013_audit_webhooks;
mod m20261205_000014_config_managed;
mod m20261205_000016_client_token_alg;
mod m20261205_000017_passkeys;
mod m20261205_000018_device_codes;
mod m20261205_000022_user_locale;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_accounts::Migration),
            Box::new(m20261121_000002_mail::Migration),
            Box::new(m20261121_000003_oauth::Migration),
            Box::new(m20261121_000004_mfa::Migration),
            Box::new(m20261203_000005_refresh_reuse::Migration),
            Box::new(m20261203_000006_throttle::Migration),
            Box::new(m20261203_000007_mfa_budget::Migration),
            Box::new(m20261203_000008_audiences::Migration),
            Box::new(m20261203_000009_outbox_seal::Migration),
            Box::new(m20261203_000010_key_schedule::Migration),
            Box::new(m20261204_000011_audit::Migration),
            Box::new(m20261204_000012_session_devices::Migration),
            Box::new(m20261204_000013_audit_webhooks::Migration),
            Box::new(m20261205_000014_config_managed::Migration),
            Box::new(m20261205_000016_client_token_alg::Migration),
            Box::new(m20261205_000017_passkeys::Migration),
            Box::new(m20261205_000018_device_codes::Migration),
            Box::new(m20261205_000022_user_locale::Migration),
        ]
    }
}
