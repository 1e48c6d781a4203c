//! Topics and subscriptions in memory, so Publish resolves its targets without a store round
//! trip. The store is the record; this is rebuilt from it at start-up.
//!
//! Lock order: `admin_lock` (async, held across store calls) before the `state` lock (sync,
//! never held across an `.await`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tern_core::time::Millis;
use tern_sns_filter::{FilterPolicy, Scope};
use tern_store::{SubscriptionRecord, TopicRecord};

/// The topic attribute counting its deleted subscriptions; the store keeps it up to date.
pub(crate) const SUBSCRIPTIONS_DELETED: &str = "SubscriptionsDeleted";

/// A subscription with its filter policy parsed once, not on every publish.
#[derive(Debug)]
pub(crate) struct SubscriptionEntry {
    pub record: SubscriptionRecord,
    pub filter: Filter,
}

#[derive(Debug)]
pub(crate) enum Filter {
    Everything,
    Policy(FilterPolicy),
    /// A stored policy that no longer parses (it was validated when set, so only a changed
    /// parser can cause this): deliver nothing rather than everything.
    Nothing,
}

impl SubscriptionEntry {
    pub(crate) fn new(record: SubscriptionRecord) -> Self {
        let filter = match record.attributes.get("FilterPolicy") {
            None => Filter::Everything,
            Some(text) => {
                let scope = record
                    .attributes
                    .get("FilterPolicyScope")
                    .and_then(|scope| Scope::from_attribute(scope))
                    .unwrap_or(Scope::MessageAttributes);
                match FilterPolicy::parse(text, scope) {
                    Ok(policy) => Filter::Policy(policy),
                    Err(error) => {
                        tracing::warn!(subscription = %record.id, %error, "stored filter policy is invalid");
                        Filter::Nothing
                    }
                }
            }
        };
        Self { record, filter }
    }
}

#[derive(Default)]
struct State {
    topics: BTreeMap<String, Arc<TopicRecord>>,
    subscriptions: BTreeMap<String, Arc<SubscriptionEntry>>,
}

#[derive(Default)]
pub struct Topics {
    state: RwLock<State>,
    /// Set once when the server starts HTTP/S delivery; until then nothing is POSTed or signed.
    pub(crate) delivery: std::sync::OnceLock<Arc<super::outbound::DeliveryConfig>>,
    /// Wakes the HTTP delivery loop: a publish or a confirmation stored new work, or shutdown
    /// began.
    pub(crate) delivery_wake: Arc<tokio::sync::Notify>,
    /// The delivery loop's POST slots and its stop signal, which shutdown waits on.
    pub(crate) delivery_gate: super::http::DeliveryGate,
    /// Serialises every change to topics and subscriptions: each is a read-modify-write whose
    /// store call must not interleave with another's.
    pub(crate) admin_lock: tokio::sync::Mutex<()>,
    /// The last FIFO sequence number handed out; see [`Topics::next_sequence`].
    last_sequence: AtomicU64,
}

impl Topics {
    pub(crate) fn new(topics: Vec<TopicRecord>, subscriptions: Vec<SubscriptionRecord>) -> Self {
        let state = State {
            topics: topics
                .into_iter()
                .map(|topic| (topic.name.clone(), Arc::new(topic)))
                .collect(),
            subscriptions: subscriptions
                .into_iter()
                .map(|record| (record.id.clone(), Arc::new(SubscriptionEntry::new(record))))
                .collect(),
        };
        Self {
            state: RwLock::new(state),
            ..Default::default()
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn topic(&self, name: &str) -> Option<Arc<TopicRecord>> {
        self.read().topics.get(name).cloned()
    }

    pub(crate) fn topic_count(&self) -> usize {
        self.read().topics.len()
    }

    pub(crate) fn topic_name(&self, topic_id: u64) -> Option<String> {
        self.read()
            .topics
            .values()
            .find(|topic| topic.id == topic_id)
            .map(|topic| topic.name.clone())
    }

    pub(crate) fn put_topic(&self, topic: TopicRecord) {
        self.write()
            .topics
            .insert(topic.name.clone(), Arc::new(topic));
    }

    /// Removes the topic and its subscriptions.
    pub(crate) fn remove_topic(&self, name: &str) {
        let mut state = self.write();
        if let Some(topic) = state.topics.remove(name) {
            state
                .subscriptions
                .retain(|_, entry| entry.record.topic_id != topic.id);
        }
    }

    /// Up to `limit` topics whose names sort after `after`, and whether more follow.
    pub(crate) fn topics_after(&self, after: &str, limit: usize) -> (Vec<Arc<TopicRecord>>, bool) {
        let state = self.read();
        let mut names = state
            .topics
            .range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .map(|(_, topic)| Arc::clone(topic));
        let page: Vec<_> = names.by_ref().take(limit).collect();
        let more = names.next().is_some();
        (page, more)
    }

    pub(crate) fn subscription(&self, id: &str) -> Option<Arc<SubscriptionEntry>> {
        self.read().subscriptions.get(id).cloned()
    }

    pub(crate) fn put_subscription(&self, record: SubscriptionRecord) {
        self.write()
            .subscriptions
            .insert(record.id.clone(), Arc::new(SubscriptionEntry::new(record)));
    }

    pub(crate) fn remove_subscription(&self, id: &str) {
        self.write().subscriptions.remove(id);
    }

    /// Mirrors the store's count of a deleted subscription (`Store::delete_subscription` keeps
    /// `SubscriptionsDeleted` among the topic's attributes), so the next attribute change, which
    /// saves the whole set, keeps it. Called under `admin_lock`, like every change.
    pub(crate) fn count_deleted_subscription(&self, topic_id: u64) {
        let mut state = self.write();
        let Some(topic) = state.topics.values_mut().find(|topic| topic.id == topic_id) else {
            return;
        };
        let record = Arc::make_mut(topic);
        let deleted = record
            .attributes
            .get(SUBSCRIPTIONS_DELETED)
            .and_then(|count| count.parse::<u64>().ok())
            .unwrap_or(0);
        record
            .attributes
            .insert(SUBSCRIPTIONS_DELETED.to_owned(), (deleted + 1).to_string());
    }

    /// Subscriptions in id order after `after`, optionally of one topic only.
    pub(crate) fn subscriptions_after(
        &self,
        topic_id: Option<u64>,
        after: &str,
        limit: usize,
    ) -> (Vec<Arc<SubscriptionEntry>>, bool) {
        let state = self.read();
        let mut matching = state
            .subscriptions
            .range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .map(|(_, entry)| entry)
            .filter(|entry| topic_id.is_none_or(|id| entry.record.topic_id == id))
            .cloned();
        let page: Vec<_> = matching.by_ref().take(limit).collect();
        let more = matching.next().is_some();
        (page, more)
    }

    pub(crate) fn topic_by_id(&self, topic_id: u64) -> Option<Arc<TopicRecord>> {
        self.read()
            .topics
            .values()
            .find(|topic| topic.id == topic_id)
            .cloned()
    }

    /// The subscription of `topic_id` whose confirmation token is `token`.
    pub(crate) fn subscription_by_token(
        &self,
        topic_id: u64,
        token: &str,
    ) -> Option<Arc<SubscriptionEntry>> {
        self.read()
            .subscriptions
            .values()
            .find(|entry| {
                entry.record.topic_id == topic_id
                    && entry
                        .record
                        .token
                        .as_ref()
                        .is_some_and(|stored| stored.value == token)
            })
            .cloned()
    }

    pub(crate) fn subscriptions_of(&self, topic_id: u64) -> Vec<Arc<SubscriptionEntry>> {
        self.read()
            .subscriptions
            .values()
            .filter(|entry| entry.record.topic_id == topic_id)
            .cloned()
            .collect()
    }

    /// FIFO sequence numbers of topics: increasing across restarts because they start from the
    /// clock (microseconds of `now`), and strictly increasing within a process.
    pub(crate) fn next_sequence(&self, now: Millis) -> u64 {
        let floor = now.saturating_mul(1_000);
        // Raising to the floor and then adding keeps every result unique and at least `floor`.
        self.last_sequence
            .fetch_max(floor.saturating_sub(1), Ordering::Relaxed);
        self.last_sequence
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
    }
}
