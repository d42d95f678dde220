//! The audit webhooks' durable queue: one row per event and endpoint, written in the event's
//! own transaction (so a rolled-back change is never announced), claimed by the delivery
//! worker with a lease (`leased_until_ms` + `lease_owner`, a conditional update, so nodes
//! sharing the database never send one delivery twice at once), retried with backoff until
//! delivered, given up, or purged together with its event (the foreign key cascades).
//! Times are Unix milliseconds from the application clock.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000013_audit_webhooks"
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuditDeliveries {
    Table,
    Id,
    EventId,
    /// A stable id derived from the endpoint's URL.
    EndpointId,
    /// `pending`, `delivered` or `failed`.
    Status,
    Attempts,
    NextAttemptAtMs,
    LeasedUntilMs,
    LeaseOwner,
    DeliveredAtMs,
    LastError,
    CreatedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditDeliveries::Table)
                    .col(string(AuditDeliveries::Id).primary_key())
                    .col(string(AuditDeliveries::EventId))
                    .col(string(AuditDeliveries::EndpointId))
                    .col(string(AuditDeliveries::Status))
                    .col(integer(AuditDeliveries::Attempts).default(0))
                    .col(big_integer(AuditDeliveries::NextAttemptAtMs))
                    .col(big_integer(AuditDeliveries::LeasedUntilMs).default(0))
                    .col(string_null(AuditDeliveries::LeaseOwner))
                    .col(big_integer_null(AuditDeliveries::DeliveredAtMs))
                    .col(text_null(AuditDeliveries::LastError))
                    .col(big_integer(AuditDeliveries::CreatedAtMs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_deliveries_event")
                            .from(AuditDeliveries::Table, AuditDeliveries::EventId)
                            .to(AuditEvents::Table, AuditEvents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_deliveries_event_endpoint")
                    .table(AuditDeliveries::Table)
                    .col(AuditDeliveries::EventId)
                    .col(AuditDeliveries::EndpointId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_deliveries_due")
                    .table(AuditDeliveries::Table)
                    .col(AuditDeliveries::Status)
                    .col(AuditDeliveries::EndpointId)
                    .col(AuditDeliveries::NextAttemptAtMs)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditDeliveries::Table).to_owned()).await
    }
}
