//! Deletes messages past their queue's `MessageRetentionPeriod`, and FIFO deduplication ids and
//! receive attempts past their five-minute window. Receives already skip such
//! messages, so the sweep only reclaims space and keeps the counters honest; it does not need to
//! be punctual.

use std::sync::Weak;
use std::time::Duration;

use tern_core::time::seconds_to_millis;

use crate::Broker;

const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

pub fn spawn(broker: Weak<Broker>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // Holding only a weak reference lets the broker be dropped, which ends the sweeper.
            let Some(broker) = broker.upgrade() else {
                return;
            };
            if broker.is_shutting_down() {
                return;
            }
            broker.sweep_once().await;
        }
    });
}

impl Broker {
    pub(crate) async fn sweep_once(&self) {
        let now = self.now();
        if let Err(error) = self.store.expire_deduplication(now).await {
            tracing::warn!(%error, "deduplication sweep failed");
        }
        for entry in self.catalogue.entries() {
            let record = entry.record();
            let retention = seconds_to_millis(record.attributes.message_retention_seconds());
            match self
                .store
                .expire(record.id, now.saturating_sub(retention))
                .await
            {
                Ok(0) => {}
                Ok(expired) => tracing::debug!(queue = %record.name, expired, "retention expiry"),
                Err(error) => {
                    tracing::warn!(queue = %record.name, %error, "retention sweep failed")
                }
            }
        }
    }
}
