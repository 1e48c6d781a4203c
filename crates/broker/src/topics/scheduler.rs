//! Who gets the HTTP delivery loop's next POST slots.
//!
//! The store hands out due deliveries subscription by subscription (`DueHttpDeliveries`); this
//! decides each subscription's share of a look:
//!
//! - at most [`SUBSCRIPTION_IN_FLIGHT_MAX`] POSTs in flight per subscription, and only
//!   [`FAILING_SUBSCRIPTION_IN_FLIGHT_MAX`] while its endpoint is failing (its last attempt met a
//!   server-side error): an endpoint that stopped answering ties up two slots waiting out its
//!   timeouts, not all of them, and every other subscription keeps being served;
//! - `throttlePolicy.maxReceivesPerSecond` as a token bucket, so a throttled subscription is
//!   passed over until it may start again instead of holding slots while it waits;
//! - the turn order: the next look starts after the last subscription the store visited.
//!
//! Pure state with time as a value: tested without a runtime.

use std::collections::{BTreeMap, HashMap};

use tern_core::time::Millis;
use tern_store::DueHttpDeliveries;

/// POSTs in flight at most, across all subscriptions.
pub const DELIVERY_WORKERS_MAX: usize = 64;
/// POSTs in flight at most per subscription whose endpoint answers.
pub const SUBSCRIPTION_IN_FLIGHT_MAX: u32 = 16;
/// POSTs in flight at most per subscription whose endpoint is failing: enough to notice it
/// recover, too few to crowd out the rest.
pub const FAILING_SUBSCRIPTION_IN_FLIGHT_MAX: u32 = 2;
/// A server-side error marks its subscription failing for this long, unless an answer clears it.
const FAILING_MILLIS: u64 = 60_000;
/// Subscriptions one look visits at most: bounds the store's work per look.
pub const SUBSCRIPTIONS_PER_LOOK_MAX: u32 = 256;
/// A throttled subscription may start this fraction of a second's POSTs at once (at least one).
const THROTTLE_BURST_DIVISOR: u32 = 10;

/// How an attempt went, for its subscription's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// The endpoint answered (2xx, or a client-side error): it is up.
    Answered,
    /// A server-side error: no answer, or a 5xx.
    Failing,
    /// No POST was made (the subscription was gone).
    Unknown,
}

#[derive(Debug, Default)]
pub(crate) struct Scheduler {
    after_subscription: Option<String>,
    /// Delivery id → its subscription, for everything in flight.
    in_flight: HashMap<u64, String>,
    /// Only subscriptions with something in flight, a recent failure or a throttle that is not
    /// full: [`Scheduler::prune`] drops the rest, so this stays as small as the live traffic.
    subscriptions: HashMap<String, SubscriptionState>,
}

#[derive(Debug, Default)]
struct SubscriptionState {
    in_flight: u32,
    failing_until: Option<Millis>,
    throttle: Option<TokenBucket>,
}

impl SubscriptionState {
    fn share(&self, now: Millis) -> u32 {
        let failing = self.failing_until.is_some_and(|until| until > now);
        let cap = if failing {
            FAILING_SUBSCRIPTION_IN_FLIGHT_MAX
        } else {
            SUBSCRIPTION_IN_FLIGHT_MAX
        };
        let share = cap.saturating_sub(self.in_flight);
        match &self.throttle {
            Some(bucket) => share.min(bucket.available(now)),
            None => share,
        }
    }

    fn idle(&self, now: Millis) -> bool {
        self.in_flight == 0
            && self.failing_until.is_none_or(|until| until <= now)
            && self
                .throttle
                .as_ref()
                .is_none_or(|bucket| bucket.is_full(now))
    }
}

impl Scheduler {
    /// What to ask the store for: up to `limit` deliveries, each subscription within its share,
    /// nothing already in flight, starting where the last turn stopped.
    pub(crate) fn request(&mut self, now: Millis, limit: u32) -> DueHttpDeliveries {
        self.prune(now);
        let shares: BTreeMap<String, u32> = self
            .subscriptions
            .iter()
            .map(|(id, state)| (id.clone(), state.share(now)))
            .filter(|(_, share)| *share != SUBSCRIPTION_IN_FLIGHT_MAX)
            .collect();
        DueHttpDeliveries {
            now,
            after_subscription: self.after_subscription.clone(),
            subscriptions_max: SUBSCRIPTIONS_PER_LOOK_MAX,
            limit,
            share: SUBSCRIPTION_IN_FLIGHT_MAX,
            shares,
            skip: self.in_flight.keys().copied().collect(),
        }
    }

    /// The store visited up to `last_visited`; the next turn starts after it.
    pub(crate) fn turn_ended(&mut self, last_visited: Option<String>) {
        if last_visited.is_some() {
            self.after_subscription = last_visited;
        }
    }

    /// Whether a delivery of `subscription` may start now — within its share and, at
    /// `rate` POSTs a second if throttled, its throttle — and if so records it as in flight.
    pub(crate) fn admit(
        &mut self,
        delivery_id: u64,
        subscription: &str,
        rate: Option<u32>,
        now: Millis,
    ) -> bool {
        if self.in_flight.contains_key(&delivery_id) {
            return false;
        }
        let state = self
            .subscriptions
            .entry(subscription.to_owned())
            .or_default();
        match rate.filter(|rate| *rate > 0) {
            Some(rate) => {
                let bucket = state
                    .throttle
                    .get_or_insert_with(|| TokenBucket::new(rate, now));
                bucket.set_rate(rate, now);
            }
            None => state.throttle = None,
        }
        if state.share(now) == 0 {
            return false;
        }
        if let Some(bucket) = &mut state.throttle {
            bucket.take(now);
        }
        state.in_flight += 1;
        self.in_flight.insert(delivery_id, subscription.to_owned());
        true
    }

    /// An attempt ended (settled, or left pending); `health` is what it showed of the endpoint.
    pub(crate) fn finished(&mut self, delivery_id: u64, health: Health, now: Millis) {
        let Some(subscription) = self.in_flight.remove(&delivery_id) else {
            return;
        };
        let Some(state) = self.subscriptions.get_mut(&subscription) else {
            return;
        };
        state.in_flight = state.in_flight.saturating_sub(1);
        match health {
            Health::Answered => state.failing_until = None,
            Health::Failing => state.failing_until = Some(now.saturating_add(FAILING_MILLIS)),
            Health::Unknown => {}
        }
    }

    /// The earliest moment a throttled subscription, now out of tokens, may start again: the
    /// loop looks then, since the store's `next_due_at` does not know about throttles.
    pub(crate) fn next_release_at(&self, now: Millis) -> Option<Millis> {
        self.subscriptions
            .values()
            .filter_map(|state| state.throttle.as_ref())
            .filter(|bucket| bucket.available(now) == 0)
            .map(|bucket| bucket.next_token_at(now))
            .min()
    }

    fn prune(&mut self, now: Millis) {
        self.subscriptions.retain(|_, state| !state.idle(now));
    }
}

/// `maxReceivesPerSecond` as a token bucket: refills at `rate` a second up to a burst of a tenth
/// of a second's worth (at least one). Counted in thousandths of a token, so slow rates refill
/// smoothly in whole milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenBucket {
    rate_per_second: u32,
    milli_tokens: u64,
    updated_at: Millis,
}

impl TokenBucket {
    /// A bucket that starts full: a subscription's first POST never waits.
    pub(crate) fn new(rate_per_second: u32, now: Millis) -> Self {
        let mut bucket = Self {
            rate_per_second: rate_per_second.max(1),
            milli_tokens: 0,
            updated_at: now,
        };
        bucket.milli_tokens = bucket.capacity();
        bucket
    }

    fn capacity(&self) -> u64 {
        u64::from((self.rate_per_second / THROTTLE_BURST_DIVISOR).max(1)) * 1_000
    }

    fn milli_tokens_at(&self, now: Millis) -> u64 {
        let elapsed = now.saturating_sub(self.updated_at);
        self.milli_tokens
            .saturating_add(elapsed.saturating_mul(u64::from(self.rate_per_second)))
            .min(self.capacity())
    }

    pub(crate) fn available(&self, now: Millis) -> u32 {
        u32::try_from(self.milli_tokens_at(now) / 1_000).unwrap_or(u32::MAX)
    }

    fn is_full(&self, now: Millis) -> bool {
        self.milli_tokens_at(now) >= self.capacity()
    }

    /// Spends one token if there is one.
    pub(crate) fn take(&mut self, now: Millis) -> bool {
        self.milli_tokens = self.milli_tokens_at(now);
        self.updated_at = now.max(self.updated_at);
        if self.milli_tokens < 1_000 {
            return false;
        }
        self.milli_tokens -= 1_000;
        true
    }

    fn set_rate(&mut self, rate_per_second: u32, now: Millis) {
        let rate_per_second = rate_per_second.max(1);
        if rate_per_second != self.rate_per_second {
            self.milli_tokens = self.milli_tokens_at(now);
            self.updated_at = now.max(self.updated_at);
            self.rate_per_second = rate_per_second;
            self.milli_tokens = self.milli_tokens.min(self.capacity());
        }
    }

    /// When the next whole token is there.
    pub(crate) fn next_token_at(&self, now: Millis) -> Millis {
        let have = self.milli_tokens_at(now);
        if have >= 1_000 {
            return now;
        }
        let rate = u64::from(self.rate_per_second);
        now.saturating_add((1_000 - have).div_ceil(rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_800_000_000_000;

    fn share_of(scheduler: &mut Scheduler, subscription: &str, now: Millis) -> u32 {
        let request = scheduler.request(now, 100);
        request
            .shares
            .get(subscription)
            .copied()
            .unwrap_or(request.share)
    }

    #[test]
    fn a_subscription_has_at_most_its_share_in_flight() {
        let mut scheduler = Scheduler::default();
        for id in 0..u64::from(SUBSCRIPTION_IN_FLIGHT_MAX) {
            assert!(scheduler.admit(id, "busy", None, T0));
        }
        assert!(
            !scheduler.admit(999, "busy", None, T0),
            "its share is spent"
        );
        assert!(
            !scheduler.admit(0, "busy", None, T0),
            "one delivery is never in flight twice"
        );
        assert!(scheduler.admit(1_000, "quiet", None, T0), "others go on");
        assert_eq!(share_of(&mut scheduler, "busy", T0), 0);
        let request = scheduler.request(T0, 100);
        assert_eq!(request.skip.len(), scheduler.in_flight.len());
        assert_eq!(request.subscriptions_max, SUBSCRIPTIONS_PER_LOOK_MAX);
        scheduler.finished(3, Health::Answered, T0);
        assert_eq!(share_of(&mut scheduler, "busy", T0), 1);
        assert!(scheduler.admit(999, "busy", None, T0));
    }

    #[test]
    fn a_failing_endpoint_gets_two_slots_until_it_answers_or_time_passes() {
        let mut scheduler = Scheduler::default();
        assert!(scheduler.admit(1, "dead", None, T0));
        scheduler.finished(1, Health::Failing, T0);
        assert_eq!(
            share_of(&mut scheduler, "dead", T0),
            FAILING_SUBSCRIPTION_IN_FLIGHT_MAX
        );
        assert!(scheduler.admit(2, "dead", None, T0));
        assert!(scheduler.admit(3, "dead", None, T0));
        assert!(
            !scheduler.admit(4, "dead", None, T0),
            "a failing endpoint cannot take more slots"
        );
        scheduler.finished(2, Health::Failing, T0 + 10);
        scheduler.finished(3, Health::Answered, T0 + 20);
        assert_eq!(
            share_of(&mut scheduler, "dead", T0 + 20),
            SUBSCRIPTION_IN_FLIGHT_MAX,
            "an answer shows the endpoint is back"
        );
        assert!(scheduler.admit(5, "dead", None, T0 + 30));
        scheduler.finished(5, Health::Failing, T0 + 30);
        assert_eq!(
            share_of(&mut scheduler, "dead", T0 + 30 + FAILING_MILLIS - 1),
            FAILING_SUBSCRIPTION_IN_FLIGHT_MAX
        );
        assert_eq!(
            share_of(&mut scheduler, "dead", T0 + 30 + FAILING_MILLIS),
            SUBSCRIPTION_IN_FLIGHT_MAX,
            "the mark fades"
        );
        assert!(
            scheduler.subscriptions.is_empty(),
            "idle subscriptions are forgotten"
        );
    }

    #[test]
    fn turns_continue_after_the_last_subscription_visited() {
        let mut scheduler = Scheduler::default();
        assert_eq!(scheduler.request(T0, 5).after_subscription, None);
        scheduler.turn_ended(Some("m".to_owned()));
        scheduler.turn_ended(None);
        let request = scheduler.request(T0, 5);
        assert_eq!(request.after_subscription.as_deref(), Some("m"));
        assert_eq!(request.limit, 5);
    }

    #[test]
    fn the_token_bucket_holds_the_rate() {
        let mut bucket = TokenBucket::new(2, T0);
        assert!(bucket.take(T0));
        assert!(!bucket.take(T0), "a burst of one at 2 a second");
        assert_eq!(bucket.next_token_at(T0), T0 + 500);
        assert!(!bucket.take(T0 + 499));
        assert!(bucket.take(T0 + 500));
        // Over ten seconds at most the rate's worth (plus the burst) start, however often asked.
        let mut bucket = TokenBucket::new(50, T0);
        let started = (0..10_000u64)
            .filter(|millis| bucket.take(T0 + millis))
            .count();
        assert!(
            (495..=505).contains(&started),
            "{started} starts in 10 s at 50/s"
        );
        let idle = TokenBucket::new(50, T0);
        assert_eq!(idle.available(T0 + 3_600_000), 5, "the burst is capped");
    }

    #[test]
    fn a_throttled_subscription_is_passed_over_until_it_may_start() {
        let mut scheduler = Scheduler::default();
        assert!(scheduler.admit(1, "slow", Some(1), T0));
        scheduler.finished(1, Health::Answered, T0 + 5);
        assert!(!scheduler.admit(2, "slow", Some(1), T0 + 5));
        assert_eq!(share_of(&mut scheduler, "slow", T0 + 5), 0);
        assert_eq!(scheduler.next_release_at(T0 + 5), Some(T0 + 1_000));
        assert!(scheduler.admit(2, "slow", Some(1), T0 + 1_000));
        scheduler.finished(2, Health::Answered, T0 + 1_000);
        assert!(
            scheduler.admit(3, "slow", None, T0 + 1_001),
            "a lifted throttle no longer holds it back"
        );
        assert_eq!(scheduler.next_release_at(T0 + 1_001), None);
    }
}
