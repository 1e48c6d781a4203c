//! Delivery to HTTP/S endpoints, off the publisher's path.
//!
//! Publish, Subscribe and Unsubscribe store the POSTs they cause in their own commit (the
//! store's `http_deliveries`). One loop per broker hands them out: each look asks the store for
//! as many due deliveries as there are free POST slots (at most [`DELIVERY_WORKERS_MAX`]), the
//! subscriptions taking turns within the shares the `scheduler` gives them, so a flood of pending
//! deliveries is read a slot's worth at a time and a dead endpoint cannot crowd out the others. A
//! task per delivery POSTs it and judges the answer by AWS's rule (`delivery_policy::judge`): a
//! 2xx forgets it; a server-side error reschedules it on the subscription's jittered retry
//! schedule; a client-side error, or a spent schedule, sends the message to the subscription's
//! dead-letter queue (or drops it with a log line) in the commit that forgets it.
//!
//! Because the schedule lives in the store, a `kill -9` loses nothing: after a restart every
//! pending delivery is due again at its recorded time (and one that was mid-flight is simply
//! attempted again: delivery is at least once, as in SNS). A graceful shutdown stops starting
//! POSTs and waits, a bounded time, for those in flight to settle; any still out are left pending.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tern_core::arn::QueueArn;
use tern_core::message::{MessageAttributeValue, MessageAttributes};
use tern_sns_sign::MessageType;
use tern_store::{
    Delivery, HttpDeliveryRecord, HttpSettlement, NewHttpDelivery, StoreError, SubscriptionRecord,
    TopicRecord,
};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::time::Instant;

use super::catalogue::SubscriptionEntry;
use super::delivery_policy::{self, DeliveryPolicy, Verdict};
use super::outbound::{DeliveryConfig, OutboundRequest};
use super::scheduler::{DELIVERY_WORKERS_MAX, Health, Scheduler};
use crate::Broker;
use crate::catalogue::QueueEntry;
use crate::send::SendRequest;

/// The loop looks again at least this often, whatever it was told.
const IDLE_LOOK_MILLIS: u64 = 30_000;
/// After a storage error, wait this long before looking again.
const STORE_ERROR_PAUSE_MILLIS: u64 = 1_000;
/// Looks are at least this far apart. A look is a job on the store's one writer thread; without
/// a floor, a busy loop would look once for every attempt that finishes.
const LOOK_SPACING: Duration = Duration::from_millis(10);
/// How long a graceful shutdown waits for POSTs in flight before leaving them pending.
pub const DELIVERY_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The loop's POST slots (a permit per attempt, held until it is settled) and its stop signal.
pub(crate) struct DeliveryGate {
    workers: Arc<Semaphore>,
    stopping: AtomicBool,
}

impl Default for DeliveryGate {
    fn default() -> Self {
        Self {
            workers: Arc::new(Semaphore::new(DELIVERY_WORKERS_MAX)),
            stopping: AtomicBool::new(false),
        }
    }
}

/// An attempt's report to the loop.
struct Finished {
    delivery_id: u64,
    health: Health,
}

enum Step {
    Stop,
    /// Free slots and subscriptions not yet visited this round: look again at once.
    Again,
    Wait(Duration),
}

impl Broker {
    /// Starts signing and HTTP/S delivery with `config`. Once per broker: `false` if already
    /// started.
    pub fn start_topic_delivery(self: &Arc<Self>, config: DeliveryConfig) -> bool {
        if self.topics.delivery.set(Arc::new(config)).is_err() {
            return false;
        }
        tokio::spawn(delivery_loop(
            Arc::downgrade(self),
            Arc::clone(&self.topics.delivery_wake),
            Arc::clone(&self.topics.delivery_gate.workers),
        ));
        true
    }

    /// Graceful shutdown: starts no more POSTs and waits up to `grace` for those in flight to
    /// be settled. `false` if some were still out; they stay pending in the store and are
    /// attempted again after a restart. Call it before closing the store.
    pub async fn finish_topic_delivery(&self, grace: Duration) -> bool {
        let gate = &self.topics.delivery_gate;
        gate.stopping.store(true, Ordering::SeqCst);
        self.topics.delivery_wake.notify_one();
        let slots = u32::try_from(DELIVERY_WORKERS_MAX).unwrap_or(u32::MAX);
        match tokio::time::timeout(grace, gate.workers.acquire_many(slots)).await {
            Ok(_) => true,
            Err(_) => {
                let left = DELIVERY_WORKERS_MAX.saturating_sub(gate.workers.available_permits());
                tracing::info!(
                    left,
                    "HTTP deliveries still in flight at shutdown stay pending; they are attempted again after a restart"
                );
                false
            }
        }
    }

    fn delivery_stopping(&self) -> bool {
        self.topics.delivery_gate.stopping.load(Ordering::SeqCst) || self.is_shutting_down()
    }

    /// The retry schedule, throttle and content type a subscription's POSTs follow.
    pub(crate) fn delivery_policy_of(
        &self,
        topic: &TopicRecord,
        subscription: &SubscriptionRecord,
    ) -> DeliveryPolicy {
        delivery_policy::effective(
            topic.attributes.get("DeliveryPolicy").map(String::as_str),
            subscription
                .attributes
                .get("DeliveryPolicy")
                .map(String::as_str),
        )
    }

    /// The policy a stored delivery follows now: its subscription's, or (the subscription gone,
    /// say for an `UnsubscribeConfirmation`) its topic's, or AWS's defaults.
    fn policy_for(&self, delivery: &NewHttpDelivery) -> DeliveryPolicy {
        let topic = self.topics.topic_by_id(delivery.topic_id);
        let subscription = self.topics.subscription(&delivery.subscription_id);
        match (&topic, &subscription) {
            (Some(topic), Some(entry)) => self.delivery_policy_of(topic, &entry.record),
            (Some(topic), None) => delivery_policy::effective(
                topic.attributes.get("DeliveryPolicy").map(String::as_str),
                None,
            ),
            _ => DeliveryPolicy::default(),
        }
    }

    /// One POST and what follows from its answer; returns what it showed of the endpoint.
    async fn attempt(
        &self,
        config: &DeliveryConfig,
        record: HttpDeliveryRecord,
        policy: DeliveryPolicy,
    ) -> Health {
        let delivery = &record.delivery;
        let subscription = self.topics.subscription(&delivery.subscription_id);
        if delivery.message_type == "Notification" && subscription.is_none() {
            // Unsubscribed since it was stored: nobody wants it any more.
            self.settle(record.id, HttpSettlement::Delivered).await;
            return Health::Unknown;
        }
        let outcome = config
            .poster
            .post(OutboundRequest {
                url: &delivery.endpoint,
                headers: &delivery.headers,
                body: &delivery.body,
            })
            .await;
        match delivery_policy::judge(outcome.as_ref().copied()) {
            Verdict::Delivered => {
                self.settle(record.id, HttpSettlement::Delivered).await;
                Health::Answered
            }
            Verdict::Refused(reason) => {
                self.give_up(&record, subscription.as_deref(), &reason)
                    .await;
                Health::Answered
            }
            Verdict::Failed(reason) => {
                let attempts = record.attempts.saturating_add(1);
                match policy.retry.delay_before(attempts) {
                    Some(delay_seconds) => {
                        let wait_millis =
                            delivery_policy::jittered_millis(delay_seconds, rand::random::<f64>());
                        tracing::debug!(endpoint = %delivery.endpoint, attempts, wait_millis, %reason, "an HTTP delivery will be retried");
                        let due_at = self.now().saturating_add(wait_millis);
                        self.settle(record.id, HttpSettlement::Retry { attempts, due_at })
                            .await;
                    }
                    None => {
                        let reason = format!("{reason} (after {attempts} attempts)");
                        self.give_up(&record, subscription.as_deref(), &reason)
                            .await;
                    }
                }
                Health::Failing
            }
        }
    }

    /// The delivery will not be attempted again: a notification goes to the subscription's
    /// dead-letter queue if it has one; anything else is dropped with a log line.
    async fn give_up(
        &self,
        record: &HttpDeliveryRecord,
        subscription: Option<&SubscriptionEntry>,
        reason: &str,
    ) {
        let delivery = &record.delivery;
        let dead_letter = subscription
            .filter(|_| delivery.message_type == "Notification")
            .and_then(|entry| self.dead_letter_of_http(&entry.record, record, reason));
        match &dead_letter {
            Some(_) => {
                tracing::info!(endpoint = %delivery.endpoint, %reason, "an HTTP delivery failed; moved to the dead-letter queue")
            }
            None => {
                tracing::warn!(endpoint = %delivery.endpoint, %reason, message_type = %delivery.message_type, "an HTTP delivery failed and is dropped")
            }
        }
        let (queue, message) = dead_letter.unzip();
        let settlement = HttpSettlement::DeadLetter(message.map(Box::new));
        if self.settle(record.id, settlement).await
            && let Some(queue) = queue
        {
            queue.arrivals.notify_waiters();
        }
    }

    async fn settle(&self, delivery_id: u64, settlement: HttpSettlement) -> bool {
        match self
            .store
            .settle_http_delivery(delivery_id, settlement)
            .await
        {
            Ok(settled) => settled,
            Err(StoreError::Closed) => {
                tracing::debug!(
                    delivery_id,
                    "the store closed mid-attempt; the HTTP delivery stays pending"
                );
                false
            }
            Err(error) => {
                // The delivery stays due in the store and is attempted again.
                tracing::error!(%error, delivery_id, "cannot record an HTTP delivery attempt");
                false
            }
        }
    }

    /// The subscription's dead-letter queue (`RedrivePolicy.deadLetterTargetArn`), if it has one
    /// that exists in this broker.
    fn dead_letter_queue(&self, subscription: &SubscriptionRecord) -> Option<Arc<QueueEntry>> {
        let policy = subscription.attributes.get("RedrivePolicy")?;
        let target = serde_json::from_str::<serde_json::Value>(policy).ok()?;
        let arn = QueueArn::parse(target.get("deadLetterTargetArn")?.as_str()?)?;
        if arn.account_id != self.account_id {
            return None;
        }
        self.entry(&arn.queue_name).ok()
    }

    /// The message a failed delivery leaves in the subscription's dead-letter queue: the body the
    /// endpoint should have had, with the reason as message attributes.
    pub(crate) fn dead_letter_message(
        &self,
        subscription: &SubscriptionRecord,
        body: String,
        mut attributes: MessageAttributes,
        group: Option<String>,
        deduplication_id: Option<String>,
        reason: &str,
    ) -> Option<(Arc<QueueEntry>, Delivery)> {
        let queue = self.dead_letter_queue(subscription)?;
        let text = |value: &str| MessageAttributeValue {
            data_type: "String".to_owned(),
            string_value: Some(value.to_owned()),
            binary_value: None,
        };
        attributes.insert("ErrorCode".to_owned(), text("DeliveryFailed"));
        attributes.insert("ErrorMessage".to_owned(), text(reason));
        attributes.insert(
            "RequestID".to_owned(),
            text(&uuid::Uuid::new_v4().to_string()),
        );
        let record = queue.record();
        let fifo = record.attributes.is_fifo();
        let request = SendRequest {
            body,
            attributes,
            message_group_id: group,
            message_deduplication_id: deduplication_id.filter(|_| fifo),
            ..Default::default()
        };
        match crate::send::prepare(&record, request, super::publish::SNS_SENDER_ID, self.now()) {
            Ok((message, _)) => Some((
                Arc::clone(&queue),
                Delivery {
                    queue_id: record.id,
                    message,
                },
            )),
            Err(error) => {
                tracing::warn!(queue = %record.name, %error, "the dead-letter queue refused a message");
                None
            }
        }
    }

    fn dead_letter_of_http(
        &self,
        subscription: &SubscriptionRecord,
        record: &HttpDeliveryRecord,
        reason: &str,
    ) -> Option<(Arc<QueueEntry>, Delivery)> {
        self.dead_letter_message(
            subscription,
            record.delivery.body.clone(),
            MessageAttributes::new(),
            None,
            None,
            reason,
        )
    }
}

/// The loop's own state between looks.
struct DeliveryLoop {
    broker: Weak<Broker>,
    workers: Arc<Semaphore>,
    scheduler: Scheduler,
    report: mpsc::Sender<Finished>,
    reports: mpsc::Receiver<Finished>,
    /// Reports taken off the channel while waiting, applied at the next look.
    received: Vec<Finished>,
    last_look: Option<Instant>,
}

async fn delivery_loop(broker: Weak<Broker>, wake: Arc<Notify>, workers: Arc<Semaphore>) {
    // Every attempt sends one report and attempts start only in a look, after the reports so
    // far are drained: fewer than DELIVERY_WORKERS_MAX are ever waiting.
    let (report, reports) = mpsc::channel(DELIVERY_WORKERS_MAX);
    let mut state = DeliveryLoop {
        broker,
        workers,
        scheduler: Scheduler::default(),
        report,
        reports,
        received: Vec::new(),
        last_look: None,
    };
    loop {
        // Registered before looking, so work stored between the look and the wait wakes us.
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let wait = match state.look().await {
            Step::Stop => return,
            Step::Again => continue,
            Step::Wait(wait) => wait,
        };
        // The broker is not held while waiting: dropping it ends the loop at its next look.
        tokio::select! {
            _ = woken => {}
            Some(finished) = state.reports.recv() => state.received.push(finished),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

impl DeliveryLoop {
    async fn look(&mut self) -> Step {
        if let Some(last) = self.last_look {
            tokio::time::sleep_until(last + LOOK_SPACING).await;
        }
        let Some(broker) = self.broker.upgrade() else {
            return Step::Stop;
        };
        let Some(config) = broker.topics.delivery.get().cloned() else {
            return Step::Stop;
        };
        if broker.delivery_stopping() {
            return Step::Stop;
        }
        let now = broker.now();
        while let Ok(finished) = self.reports.try_recv() {
            self.received.push(finished);
        }
        for finished in self.received.drain(..) {
            self.scheduler
                .finished(finished.delivery_id, finished.health, now);
        }
        let free = self.workers.available_permits();
        if free == 0 {
            // A finishing attempt's report wakes the loop.
            return Step::Wait(Duration::from_millis(IDLE_LOOK_MILLIS));
        }
        self.last_look = Some(Instant::now());
        let request = self
            .scheduler
            .request(now, u32::try_from(free).unwrap_or(u32::MAX));
        let page = match broker.store.due_http_deliveries(request).await {
            Ok(page) => page,
            Err(StoreError::Closed) => return Step::Stop,
            Err(error) => {
                tracing::error!(%error, "cannot read pending HTTP deliveries");
                return Step::Wait(Duration::from_millis(STORE_ERROR_PAUSE_MILLIS));
            }
        };
        self.scheduler.turn_ended(page.last_visited);
        for record in page.deliveries {
            if record.delivery.message_type == MessageType::SubscriptionConfirmation.as_str()
                && broker
                    .topics
                    .subscription(&record.delivery.subscription_id)
                    .is_none()
            {
                // Stored in the commit that creates its subscription, a moment before the
                // catalogue has it (and so its policy); Subscribe wakes the loop once it does.
                continue;
            }
            let policy = broker.policy_for(&record.delivery);
            let subscription = record.delivery.subscription_id.clone();
            if !self.scheduler.admit(
                record.id,
                &subscription,
                policy.max_receives_per_second,
                now,
            ) {
                continue;
            }
            let Ok(permit) = Arc::clone(&self.workers).try_acquire_owned() else {
                self.scheduler.finished(record.id, Health::Unknown, now);
                break;
            };
            let broker = Arc::clone(&broker);
            let config = Arc::clone(&config);
            let report = self.report.clone();
            tokio::spawn(async move {
                let delivery_id = record.id;
                let health = broker.attempt(&config, record, policy).await;
                drop(broker);
                drop(permit);
                // Fails only when the loop has stopped, and then nobody needs the report.
                let _ = report
                    .send(Finished {
                        delivery_id,
                        health,
                    })
                    .await;
            });
        }
        if !page.round_complete && self.workers.available_permits() > 0 {
            return Step::Again;
        }
        let next = [page.next_due_at, self.scheduler.next_release_at(now)]
            .into_iter()
            .flatten()
            .min();
        let wait_millis = next
            .map_or(IDLE_LOOK_MILLIS, |at| at.saturating_sub(now))
            .clamp(1, IDLE_LOOK_MILLIS);
        Step::Wait(Duration::from_millis(wait_millis))
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
