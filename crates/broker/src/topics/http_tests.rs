//! The delivery loop against a scripted poster and a real store, time from a manual clock:
//! which answers are retried, that a dead endpoint leaves the others served, throttles, and
//! graceful shutdown. Waits for something to happen are bounded; checks that something does
//! *not* happen hold the clock still, so a retry cannot fall due, and pause only briefly.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tern_core::time::ManualClock;
use tern_sns_sign::SigningIdentity;
use tern_store::{DueHttpDeliveries, HttpDeliveryRecord};
use tern_store_sqlite::SqliteStore;

use crate::topics::{
    DeliveryConfig, HttpPoster, OutboundRequest, PostError, PostFuture, PublishRequest,
    SUBSCRIPTION_IN_FLIGHT_MAX, TopicsContext,
};
use crate::{Broker, DeliveredMessage, ReceiveOptions};

const T0: u64 = 1_800_000_000_000;
/// Upper bound on waiting for something the loop should do at once.
const ARRIVAL_LIMIT: Duration = Duration::from_secs(10);
/// How long a check that nothing more happens waits.
const QUIET: Duration = Duration::from_millis(150);

#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    /// A connection error, as a refused connection or a failed TLS handshake gives.
    Unreachable,
    /// Never answers (an endpoint that accepts and then says nothing).
    Hang,
    /// Answers 200 once the test opens the gate.
    Gated,
}

#[derive(Default)]
struct Script {
    /// Per URL: the next answers, then `defaults` (then 200).
    answers: HashMap<String, VecDeque<Answer>>,
    defaults: HashMap<String, Answer>,
    /// Every POST in order: (URL, body).
    posts: Vec<(String, String)>,
    in_flight: HashMap<String, usize>,
    in_flight_max: HashMap<String, usize>,
}

struct ScriptedPoster {
    script: Mutex<Script>,
    posted: tokio::sync::Notify,
    /// `Answer::Gated` POSTs wait for a permit here; the test adds them.
    gate: tokio::sync::Semaphore,
}

impl Default for ScriptedPoster {
    fn default() -> Self {
        Self {
            script: Mutex::default(),
            posted: tokio::sync::Notify::new(),
            gate: tokio::sync::Semaphore::new(0),
        }
    }
}

impl ScriptedPoster {
    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }

    fn answer(&self, url: &str, answers: &[Answer]) {
        self.script()
            .answers
            .entry(url.to_owned())
            .or_default()
            .extend(answers);
    }

    fn answer_always(&self, url: &str, answer: Answer) {
        self.script().defaults.insert(url.to_owned(), answer);
    }

    fn posts_to(&self, url: &str) -> Vec<String> {
        self.script()
            .posts
            .iter()
            .filter(|(to, _)| to == url)
            .map(|(_, body)| body.clone())
            .collect()
    }

    fn in_flight_max(&self, url: &str) -> usize {
        self.script().in_flight_max.get(url).copied().unwrap_or(0)
    }

    fn in_flight_total(&self) -> usize {
        self.script().in_flight.values().sum()
    }

    /// Waits (bounded) until `url` has had `count` POSTs; returns their bodies.
    async fn wait_for(&self, url: &str, count: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + ARRIVAL_LIMIT;
        loop {
            let posted = self.posted.notified();
            let posts = self.posts_to(url);
            if posts.len() >= count || tokio::time::Instant::now() >= deadline {
                return posts;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), posted).await;
        }
    }

    async fn respond(&self, url: String, body: String) -> Result<u16, PostError> {
        let answer = {
            let mut script = self.script();
            script.posts.push((url.clone(), body));
            let count = script.in_flight.entry(url.clone()).or_default();
            *count += 1;
            let now = *count;
            let max = script.in_flight_max.entry(url.clone()).or_default();
            *max = (*max).max(now);
            let scripted = script.answers.get_mut(&url).and_then(VecDeque::pop_front);
            scripted
                .or_else(|| script.defaults.get(&url).copied())
                .unwrap_or(Answer::Status(200))
        };
        self.posted.notify_waiters();
        let result = match answer {
            Answer::Status(status) => Ok(status),
            Answer::Unreachable => Err(PostError("cannot reach the endpoint".to_owned())),
            Answer::Hang => std::future::pending().await,
            Answer::Gated => match self.gate.acquire().await {
                Ok(permit) => {
                    permit.forget();
                    Ok(200)
                }
                Err(_) => Err(PostError("gate closed".to_owned())),
            },
        };
        if let Some(count) = self.script().in_flight.get_mut(&url) {
            *count -= 1;
        }
        result
    }
}

impl HttpPoster for ScriptedPoster {
    fn post<'a>(&'a self, request: OutboundRequest<'a>) -> PostFuture<'a> {
        Box::pin(self.respond(request.url.to_owned(), request.body.to_owned()))
    }
}

/// RSA key generation is slow, and every test needs a key: one per test process.
fn signing_identity() -> Arc<SigningIdentity> {
    static IDENTITY: OnceLock<Arc<SigningIdentity>> = OnceLock::new();
    Arc::clone(IDENTITY.get_or_init(|| {
        Arc::new(SigningIdentity::generate("sns.tern.test", T0 / 1_000, 3_600).unwrap())
    }))
}

struct Fixture {
    broker: Arc<Broker>,
    clock: ManualClock,
    poster: Arc<ScriptedPoster>,
    context: TopicsContext,
    _directory: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(directory.path()).unwrap());
    let clock = ManualClock::starting_at(T0);
    let broker = Broker::start(store, Arc::new(clock.clone()), "000000000000")
        .await
        .unwrap();
    let poster = Arc::new(ScriptedPoster::default());
    assert!(broker.start_topic_delivery(DeliveryConfig {
        public_url: "http://tern.test".to_owned(),
        certificate_path: "/SimpleNotificationService-test.pem".to_owned(),
        signing: signing_identity(),
        poster: Arc::clone(&poster) as Arc<dyn HttpPoster>,
    }));
    Fixture {
        broker,
        clock,
        poster,
        context: TopicsContext {
            region: "us-east-1".to_owned(),
            host: "tern.test".to_owned(),
            authenticated: true,
        },
        _directory: directory,
    }
}

impl Fixture {
    async fn topic(&self, name: &str) -> String {
        self.broker
            .create_topic(&self.context, name, Default::default())
            .await
            .unwrap()
    }

    async fn queue(&self, name: &str) -> String {
        self.broker
            .create_queue(name, BTreeMap::new(), BTreeMap::new())
            .await
            .unwrap();
        format!("arn:aws:sqs:us-east-1:000000000000:{name}")
    }

    /// Subscribes `url` and confirms it with the token its confirmation POST carried.
    async fn subscribe(&self, topic_arn: &str, url: &str, attributes: &[(&str, &str)]) {
        let before = self.poster.posts_to(url).len();
        let attributes = attributes
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        self.broker
            .subscribe(
                &self.context,
                topic_arn,
                "http",
                Some(url),
                attributes,
                true,
            )
            .await
            .unwrap();
        let posts = self.poster.wait_for(url, before + 1).await;
        let confirmation: serde_json::Value = serde_json::from_str(&posts[before]).unwrap();
        assert_eq!(confirmation["Type"], "SubscriptionConfirmation");
        self.broker
            .confirm_subscription(
                &self.context,
                topic_arn,
                confirmation["Token"].as_str().unwrap(),
                None,
            )
            .await
            .unwrap();
    }

    async fn publish(&self, topic_arn: &str, message: &str) {
        self.broker
            .publish(
                &self.context,
                topic_arn,
                PublishRequest {
                    message: message.to_owned(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    /// Moves the clock and wakes the loop, as the passing of time would.
    fn advance_millis(&self, millis: u64) {
        self.clock.advance_millis(millis);
        self.broker.topics.delivery_wake.notify_one();
    }

    /// Every delivery still pending, whenever due.
    async fn pending(&self) -> Vec<HttpDeliveryRecord> {
        self.broker
            .store
            .due_http_deliveries(DueHttpDeliveries {
                now: u64::MAX / 2,
                subscriptions_max: 1_000,
                limit: 1_000,
                share: 1_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .deliveries
    }

    async fn receive(&self, queue: &str, count: usize) -> Vec<DeliveredMessage> {
        let deadline = tokio::time::Instant::now() + ARRIVAL_LIMIT;
        let mut messages = Vec::new();
        while messages.len() < count && tokio::time::Instant::now() < deadline {
            let options = ReceiveOptions {
                max_messages: Some(10),
                wait_time_seconds: Some(1),
                ..Default::default()
            };
            messages.extend(self.broker.receive_messages(queue, options).await.unwrap());
        }
        messages
    }
}

fn redrive_to(queue_arn: &str) -> String {
    format!(r#"{{"deadLetterTargetArn":"{queue_arn}"}}"#)
}

fn error_message(message: &DeliveredMessage) -> String {
    message.attributes["ErrorMessage"]
        .string_value
        .clone()
        .unwrap_or_default()
}

#[tokio::test]
async fn client_side_errors_are_not_retried_and_go_to_the_dead_letter_queue() {
    let fixture = fixture().await;
    let dead_letters = fixture.queue("refused").await;
    let topic = fixture.topic("strict").await;
    let policy = r#"{"healthyRetryPolicy":{"numRetries":5,"minDelayTarget":1,"maxDelayTarget":1}}"#;
    let redrive = redrive_to(&dead_letters);
    for (url, status) in [
        ("http://hook.test/gone", 404),
        ("http://hook.test/busy", 429),
        ("http://hook.test/moved", 301),
    ] {
        fixture
            .subscribe(
                &topic,
                url,
                &[("DeliveryPolicy", policy), ("RedrivePolicy", &redrive)],
            )
            .await;
        fixture.poster.answer_always(url, Answer::Status(status));
    }
    fixture.publish(&topic, "not for you").await;
    let moved = fixture.receive("refused", 3).await;
    assert_eq!(moved.len(), 3, "each refusal is dead-lettered at once");
    let mut reasons: Vec<String> = moved.iter().map(error_message).collect();
    reasons.sort();
    for (reason, status) in reasons.iter().zip(["301", "404", "429"]) {
        assert!(
            reason.contains(status) && reason.contains("not retried"),
            "{reason}"
        );
    }
    assert!(moved.iter().all(|message| {
        let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
        body["Message"] == "not for you"
    }));
    fixture.advance_millis(10_000);
    tokio::time::sleep(QUIET).await;
    for url in [
        "http://hook.test/gone",
        "http://hook.test/busy",
        "http://hook.test/moved",
    ] {
        assert_eq!(
            fixture.poster.posts_to(url).len(),
            2,
            "{url}: the confirmation and one attempt"
        );
    }
    assert!(fixture.pending().await.is_empty(), "nothing left to retry");
}

#[tokio::test]
async fn server_side_errors_are_retried_on_the_jittered_schedule_then_dead_lettered() {
    let fixture = fixture().await;
    let dead_letters = fixture.queue("failed").await;
    let topic = fixture.topic("flaky").await;
    let url = "http://hook.test/flaky";
    let policy =
        r#"{"healthyRetryPolicy":{"numRetries":2,"minDelayTarget":10,"maxDelayTarget":10}}"#;
    fixture
        .subscribe(
            &topic,
            url,
            &[
                ("DeliveryPolicy", policy),
                ("RedrivePolicy", &redrive_to(&dead_letters)),
            ],
        )
        .await;
    fixture.poster.answer(
        url,
        &[
            Answer::Status(500),
            Answer::Unreachable,
            Answer::Status(503),
        ],
    );
    fixture.publish(&topic, "try again").await;
    assert_eq!(fixture.poster.wait_for(url, 2).await.len(), 2);
    let pending = loop_until_pending(&fixture, 1).await;
    let due_in = pending.delivery.due_at - T0;
    assert!(
        (9_000..=11_000).contains(&due_in),
        "minDelayTarget 10 s, give or take a tenth: {due_in} ms"
    );
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        fixture.poster.posts_to(url).len(),
        2,
        "no retry before it is due"
    );

    fixture.advance_millis(11_000);
    assert_eq!(fixture.poster.wait_for(url, 3).await.len(), 3);
    loop_until_pending(&fixture, 2).await;
    fixture.advance_millis(11_000);
    let posts = fixture.poster.wait_for(url, 4).await;
    assert_eq!(posts.len(), 4, "the first attempt and numRetries=2 retries");
    assert!(
        posts[1..].windows(2).all(|pair| pair[0] == pair[1]),
        "every attempt POSTs the same message"
    );
    let moved = fixture.receive("failed", 1).await;
    assert_eq!(moved.len(), 1);
    assert!(
        error_message(&moved[0]).contains("503"),
        "{}",
        error_message(&moved[0])
    );
    assert!(fixture.pending().await.is_empty());
}

/// Waits (bounded) until the one pending delivery has `attempts` recorded.
async fn loop_until_pending(fixture: &Fixture, attempts: u32) -> HttpDeliveryRecord {
    let deadline = tokio::time::Instant::now() + ARRIVAL_LIMIT;
    loop {
        let pending = fixture.pending().await;
        if let [record] = pending.as_slice()
            && record.attempts == attempts
        {
            return record.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected one delivery with {attempts} attempts: {pending:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_endpoint_that_never_answers_does_not_starve_the_others() {
    let fixture = fixture().await;
    let dead_topic = fixture.topic("into-the-void").await;
    let live_topic = fixture.topic("lively").await;
    let dead = "http://hook.test/void";
    let live = "http://hook.test/live";
    fixture.subscribe(&dead_topic, dead, &[]).await;
    fixture.subscribe(&live_topic, live, &[]).await;
    fixture.poster.answer_always(dead, Answer::Hang);
    for index in 0..100 {
        fixture.publish(&dead_topic, &format!("lost {index}")).await;
    }
    for index in 0..5 {
        fixture
            .publish(&live_topic, &format!("found {index}"))
            .await;
    }
    assert_eq!(
        fixture.poster.wait_for(live, 6).await.len(),
        6,
        "the live endpoint is served past the dead one's backlog"
    );
    assert_eq!(
        fixture.poster.in_flight_max(dead),
        usize::try_from(SUBSCRIPTION_IN_FLIGHT_MAX).unwrap(),
        "the dead endpoint holds its share of slots and no more"
    );
    assert!(fixture.poster.in_flight_total() <= super::DELIVERY_WORKERS_MAX);
    assert_eq!(
        fixture.pending().await.len(),
        100,
        "the backlog waits its turn"
    );
}

#[tokio::test]
async fn max_receives_per_second_spaces_the_posts() {
    let fixture = fixture().await;
    let topic = fixture.topic("paced").await;
    let url = "http://hook.test/paced";
    let policy = r#"{"throttlePolicy":{"maxReceivesPerSecond":1}}"#;
    // The confirmation spends the first second's POST.
    fixture
        .subscribe(&topic, url, &[("DeliveryPolicy", policy)])
        .await;
    for index in 0..3 {
        fixture.publish(&topic, &format!("paced {index}")).await;
    }
    tokio::time::sleep(QUIET).await;
    assert_eq!(fixture.poster.posts_to(url).len(), 1, "held back");
    for second in 1..=3 {
        fixture.advance_millis(1_000);
        assert_eq!(
            fixture.poster.wait_for(url, 1 + second).await.len(),
            1 + second
        );
        tokio::time::sleep(QUIET).await;
        assert_eq!(
            fixture.poster.posts_to(url).len(),
            1 + second,
            "one POST a second"
        );
    }
}

#[tokio::test]
async fn shutdown_lets_posts_in_flight_finish_and_starts_no_more() {
    let fixture = fixture().await;
    let topic = fixture.topic("closing").await;
    let url = "http://hook.test/slow";
    fixture.subscribe(&topic, url, &[]).await;
    fixture.poster.answer(url, &[Answer::Gated]);
    fixture.publish(&topic, "in flight").await;
    assert_eq!(fixture.poster.wait_for(url, 2).await.len(), 2);
    let broker = Arc::clone(&fixture.broker);
    let finishing = tokio::spawn(async move { broker.finish_topic_delivery(ARRIVAL_LIMIT).await });
    tokio::time::sleep(QUIET).await;
    assert!(!finishing.is_finished(), "it waits for the POST in flight");
    fixture.poster.gate.add_permits(1);
    assert!(finishing.await.unwrap(), "everything in flight settled");
    assert!(
        fixture.pending().await.is_empty(),
        "the answered POST was recorded"
    );
    fixture.publish(&topic, "after the stop").await;
    fixture.advance_millis(1_000);
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        fixture.poster.posts_to(url).len(),
        2,
        "no POST starts after"
    );
    assert_eq!(
        fixture.pending().await.len(),
        1,
        "it waits in the store for the next start"
    );
}

#[tokio::test]
async fn shutdown_leaves_posts_that_outlast_the_grace_pending() {
    let fixture = fixture().await;
    let topic = fixture.topic("stuck").await;
    let url = "http://hook.test/stuck";
    fixture.subscribe(&topic, url, &[]).await;
    fixture.poster.answer_always(url, Answer::Hang);
    fixture.publish(&topic, "outlasts the grace").await;
    assert_eq!(fixture.poster.wait_for(url, 2).await.len(), 2);
    assert!(
        !fixture
            .broker
            .finish_topic_delivery(Duration::from_millis(100))
            .await
    );
    let pending = fixture.pending().await;
    assert_eq!(pending.len(), 1, "left pending in the store");
    assert_eq!(pending[0].attempts, 0, "not counted as a failed attempt");
}
