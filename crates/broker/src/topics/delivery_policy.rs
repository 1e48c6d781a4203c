//! `DeliveryPolicy` for `http`/`https` subscriptions: parsing and validating the topic's and the
//! subscription's policy with AWS's limits, and the retry schedule they describe.
//!
//! A retry schedule has four phases (AWS's): `numNoDelayRetries` at once, `numMinDelayRetries`
//! at `minDelayTarget`, a backoff phase climbing from `minDelayTarget` to `maxDelayTarget` along
//! `backoffFunction`, and `numMaxDelayRetries` at `maxDelayTarget`; `numRetries` counts them all.
//! Each delay is jittered ([`jittered_millis`]), as AWS jitters its retries.
//!
//! Which answers are retried at all is AWS's rule for HTTP/S endpoints ([`judge`]): the schedule
//! covers server-side errors only; a client-side error is not retried.

use serde_json::{Map, Value};

use super::SnsError;
use super::outbound::PostError;

/// AWS's defaults for HTTP/S: three retries, twenty seconds apart.
pub const DEFAULT_DELAY_SECONDS: u32 = 20;
pub const DEFAULT_RETRIES: u32 = 3;
pub const RETRIES_MAX: u32 = 100;
pub const DELAY_SECONDS_MAX: u32 = 3_600;
/// AWS caps the whole retry schedule of an HTTP/S policy at an hour.
pub const TOTAL_POLICY_SECONDS_MAX: u64 = 3_600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    Linear,
    Arithmetic,
    Geometric,
    Exponential,
}

impl Backoff {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "linear" => Some(Self::Linear),
            "arithmetic" => Some(Self::Arithmetic),
            "geometric" => Some(Self::Geometric),
            "exponential" => Some(Self::Exponential),
            _ => None,
        }
    }

    /// The delay of backoff retry `step` of `steps` (both from 1), between `min` and `max`.
    fn delay(self, step: u32, steps: u32, min: u32, max: u32) -> u32 {
        if steps == 0 || max <= min {
            return min;
        }
        let (step, steps) = (f64::from(step), f64::from(steps));
        let span = f64::from(max - min);
        let share = match self {
            Self::Linear => step / steps,
            Self::Arithmetic => (step * (step + 1.0)) / (steps * (steps + 1.0)),
            Self::Exponential => (2f64.powf(step) - 1.0) / (2f64.powf(steps) - 1.0),
            Self::Geometric => {
                let ratio = f64::from(max) / f64::from(min.max(1));
                return (f64::from(min.max(1)) * ratio.powf(step / steps)).round() as u32;
            }
        };
        min + (span * share).round() as u32
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub min_delay_seconds: u32,
    pub max_delay_seconds: u32,
    pub retries: u32,
    pub no_delay_retries: u32,
    pub min_delay_retries: u32,
    pub max_delay_retries: u32,
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            min_delay_seconds: DEFAULT_DELAY_SECONDS,
            max_delay_seconds: DEFAULT_DELAY_SECONDS,
            retries: DEFAULT_RETRIES,
            no_delay_retries: 0,
            min_delay_retries: 0,
            max_delay_retries: 0,
            backoff: Backoff::Linear,
        }
    }
}

impl RetryPolicy {
    /// Seconds to wait before retry `retry` (the first retry is 1); `None` once all are spent.
    pub fn delay_before(&self, retry: u32) -> Option<u32> {
        if retry == 0 || retry > self.retries {
            return None;
        }
        let backoff_steps = self.backoff_steps();
        let mut left = retry;
        if left <= self.no_delay_retries {
            return Some(0);
        }
        left -= self.no_delay_retries;
        if left <= self.min_delay_retries {
            return Some(self.min_delay_seconds);
        }
        left -= self.min_delay_retries;
        if left <= backoff_steps {
            return Some(self.backoff.delay(
                left,
                backoff_steps,
                self.min_delay_seconds,
                self.max_delay_seconds,
            ));
        }
        Some(self.max_delay_seconds)
    }

    fn backoff_steps(&self) -> u32 {
        self.retries
            .saturating_sub(self.no_delay_retries)
            .saturating_sub(self.min_delay_retries)
            .saturating_sub(self.max_delay_retries)
    }

    fn total_seconds(&self) -> u64 {
        (1..=self.retries)
            .filter_map(|retry| self.delay_before(retry))
            .map(u64::from)
            .sum()
    }
}

/// How far a retry's delay may stray from the schedule, either way, in percent.
pub const JITTER_PERCENT: u64 = 10;

/// The wait before a retry, in milliseconds: `delay_seconds` moved by up to [`JITTER_PERCENT`]
/// either way, where within that band chosen by `unit` (a random number in `[0, 1)`; the caller
/// draws it, so tests can pin it). Endpoints that failed together then do not all come back in
/// the same instant. An immediate retry stays immediate.
pub fn jittered_millis(delay_seconds: u32, unit: f64) -> u64 {
    let delay = u64::from(delay_seconds) * 1_000;
    let spread = delay * JITTER_PERCENT / 100;
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.5
    };
    // Both bounds are whole milliseconds, so the conversion is exact enough and cannot overflow.
    let offset = (unit * (2 * spread) as f64).round() as u64;
    delay - spread + offset.min(2 * spread)
}

/// What an endpoint's answer to one POST means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: the endpoint took the message.
    Delivered,
    /// A client-side error: AWS does not retry these; the message goes to the subscription's
    /// dead-letter queue at once, or is dropped.
    Refused(String),
    /// A server-side error: retried on the retry schedule.
    Failed(String),
}

/// AWS's rule for HTTP/S endpoints ("Step 1: Make sure your endpoint is ready to process Amazon
/// SNS messages"): no answer within the ~15 s timeout, or a status outside 200–4xx, is a failed
/// attempt and retried; so 5xx, a refused or reset connection, a failed TLS handshake and a
/// timeout are retried. A 4xx — 429 included, AWS lists no exception — is a client-side error,
/// which "Amazon SNS dead-letter queues" says is not retried. AWS does not follow redirects and
/// a 3xx is inside 200–4xx, so Tern treats it as a refusal too.
pub fn judge(outcome: Result<u16, &PostError>) -> Verdict {
    match outcome {
        Ok(status) if (200..300).contains(&status) => Verdict::Delivered,
        Ok(status) if (300..500).contains(&status) => Verdict::Refused(format!(
            "the endpoint answered HTTP {status}; client-side errors are not retried"
        )),
        Ok(status) => Verdict::Failed(format!("the endpoint answered HTTP {status}")),
        Err(error) => Verdict::Failed(error.to_string()),
    }
}

/// What one HTTP/S subscription's deliveries follow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryPolicy {
    pub retry: RetryPolicy,
    pub max_receives_per_second: Option<u32>,
    pub content_type: Option<String>,
}

fn invalid(detail: impl std::fmt::Display) -> SnsError {
    SnsError::invalid_parameter(format!("DeliveryPolicy: {detail}"))
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, SnsError> {
    value
        .as_object()
        .ok_or_else(|| invalid(format!("{path} must be an object")))
}

fn whole(map: &Map<String, Value>, path: &str, key: &str, default: u32) -> Result<u32, SnsError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => value
            .as_u64()
            .and_then(|number| u32::try_from(number).ok())
            .ok_or_else(|| invalid(format!("{path}.{key} must be a non-negative integer"))),
    }
}

fn retry_policy(value: &Value, path: &str) -> Result<RetryPolicy, SnsError> {
    let map = object(value, path)?;
    let defaults = RetryPolicy::default();
    let backoff = match map.get("backoffFunction") {
        None | Some(Value::Null) => defaults.backoff,
        Some(value) => value.as_str().and_then(Backoff::parse).ok_or_else(|| {
            invalid(format!(
                "{path}.backoffFunction must be one of linear, arithmetic, geometric, exponential"
            ))
        })?,
    };
    let policy = RetryPolicy {
        min_delay_seconds: whole(map, path, "minDelayTarget", defaults.min_delay_seconds)?,
        max_delay_seconds: whole(map, path, "maxDelayTarget", defaults.max_delay_seconds)?,
        retries: whole(map, path, "numRetries", defaults.retries)?,
        no_delay_retries: whole(map, path, "numNoDelayRetries", 0)?,
        min_delay_retries: whole(map, path, "numMinDelayRetries", 0)?,
        max_delay_retries: whole(map, path, "numMaxDelayRetries", 0)?,
        backoff,
    };
    if policy.retries > RETRIES_MAX {
        return Err(invalid(format!(
            "{path}.numRetries must be between 0 and {RETRIES_MAX}"
        )));
    }
    if policy.min_delay_seconds == 0 || policy.min_delay_seconds > DELAY_SECONDS_MAX {
        return Err(invalid(format!(
            "{path}.minDelayTarget must be between 1 and {DELAY_SECONDS_MAX}"
        )));
    }
    if policy.max_delay_seconds > DELAY_SECONDS_MAX {
        return Err(invalid(format!(
            "{path}.maxDelayTarget must be between 1 and {DELAY_SECONDS_MAX}"
        )));
    }
    if policy.min_delay_seconds > policy.max_delay_seconds {
        return Err(invalid(format!(
            "{path}.minDelayTarget must be less than or equal to maxDelayTarget"
        )));
    }
    let phases = u64::from(policy.no_delay_retries)
        + u64::from(policy.min_delay_retries)
        + u64::from(policy.max_delay_retries);
    if phases > u64::from(policy.retries) {
        return Err(invalid(format!(
            "{path}.numRetries must be at least numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries"
        )));
    }
    if policy.total_seconds() > TOTAL_POLICY_SECONDS_MAX {
        return Err(invalid(format!(
            "{path}: the total retry time may not exceed {TOTAL_POLICY_SECONDS_MAX} seconds"
        )));
    }
    Ok(policy)
}

fn throttle(value: &Value, path: &str) -> Result<Option<u32>, SnsError> {
    let map = object(value, path)?;
    match map.get("maxReceivesPerSecond") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|number| u32::try_from(number).ok())
            .filter(|number| *number >= 1)
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "{path}.maxReceivesPerSecond must be an integer of at least 1"
                ))
            }),
    }
}

fn content_type(value: &Value, path: &str) -> Result<Option<String>, SnsError> {
    let map = object(value, path)?;
    match map.get("headerContentType") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text))
            if !text.is_empty() && text.is_ascii() && !text.contains(['\r', '\n']) =>
        {
            Ok(Some(text.clone()))
        }
        Some(_) => Err(invalid(format!(
            "{path}.headerContentType must be a content type"
        ))),
    }
}

fn parse_json(text: &str) -> Result<Value, SnsError> {
    serde_json::from_str(text).map_err(|_| invalid("the value must be JSON"))
}

/// A subscription's policy: `{"healthyRetryPolicy": …, "throttlePolicy": …, "requestPolicy": …}`.
pub fn parse_subscription_policy(text: &str) -> Result<DeliveryPolicy, SnsError> {
    let value = parse_json(text)?;
    let map = object(&value, "DeliveryPolicy")?;
    let mut policy = DeliveryPolicy::default();
    for (key, value) in map {
        match key.as_str() {
            "healthyRetryPolicy" => policy.retry = retry_policy(value, key)?,
            "throttlePolicy" => policy.max_receives_per_second = throttle(value, key)?,
            "requestPolicy" => policy.content_type = content_type(value, key)?,
            // AWS accepts (and ignores) its retired sickly policy; so does Tern.
            "sicklyRetryPolicy" | "guaranteed" => {}
            other => return Err(invalid(format!("unknown key {other}"))),
        }
    }
    Ok(policy)
}

/// The topic's policy for HTTP/S, `{"http": {"defaultHealthyRetryPolicy": …, …}}`, and whether it
/// forbids subscriptions their own (`disableSubscriptionOverrides`).
pub fn parse_topic_policy(text: &str) -> Result<(DeliveryPolicy, bool), SnsError> {
    let value = parse_json(text)?;
    let map = object(&value, "DeliveryPolicy")?;
    let mut policy = DeliveryPolicy::default();
    let mut overrides_disabled = false;
    for (protocol, value) in map {
        // Policies for other protocols are stored and returned; only HTTP/S is Tern's to apply.
        if protocol != "http" && protocol != "https" {
            continue;
        }
        let http = object(value, protocol)?;
        for (key, value) in http {
            match key.as_str() {
                "defaultHealthyRetryPolicy" => policy.retry = retry_policy(value, key)?,
                "defaultThrottlePolicy" => policy.max_receives_per_second = throttle(value, key)?,
                "defaultRequestPolicy" => policy.content_type = content_type(value, key)?,
                "disableSubscriptionOverrides" => {
                    overrides_disabled = value.as_bool().ok_or_else(|| {
                        invalid("http.disableSubscriptionOverrides must be true or false")
                    })?;
                }
                "defaultSicklyRetryPolicy" => {}
                other => return Err(invalid(format!("unknown key http.{other}"))),
            }
        }
    }
    Ok((policy, overrides_disabled))
}

/// The policy a delivery follows: the subscription's unless the topic disables overrides, else
/// the topic's, else AWS's defaults. Stored policies were validated when set.
pub fn effective(topic_policy: Option<&str>, subscription_policy: Option<&str>) -> DeliveryPolicy {
    let (topic, overrides_disabled) = topic_policy
        .and_then(|text| parse_topic_policy(text).ok())
        .unwrap_or_default();
    if overrides_disabled {
        return topic;
    }
    subscription_policy
        .and_then(|text| parse_subscription_policy(text).ok())
        .map(|policy| DeliveryPolicy {
            content_type: policy.content_type.or(topic.content_type.clone()),
            max_receives_per_second: policy
                .max_receives_per_second
                .or(topic.max_receives_per_second),
            retry: policy.retry,
        })
        .unwrap_or(topic)
}

/// The `EffectiveDeliveryPolicy` a subscription reports.
pub fn describe(policy: &DeliveryPolicy) -> String {
    let backoff = match policy.retry.backoff {
        Backoff::Linear => "linear",
        Backoff::Arithmetic => "arithmetic",
        Backoff::Geometric => "geometric",
        Backoff::Exponential => "exponential",
    };
    serde_json::json!({
        "healthyRetryPolicy": {
            "minDelayTarget": policy.retry.min_delay_seconds,
            "maxDelayTarget": policy.retry.max_delay_seconds,
            "numRetries": policy.retry.retries,
            "numMaxDelayRetries": policy.retry.max_delay_retries,
            "numNoDelayRetries": policy.retry.no_delay_retries,
            "numMinDelayRetries": policy.retry.min_delay_retries,
            "backoffFunction": backoff,
        },
        "throttlePolicy": policy.max_receives_per_second.map(|rate| serde_json::json!({"maxReceivesPerSecond": rate})),
        "requestPolicy": {"headerContentType": policy.content_type.as_deref().unwrap_or(super::outbound::DEFAULT_CONTENT_TYPE)},
        "guaranteed": false,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(policy: &RetryPolicy) -> Vec<u32> {
        (1..=policy.retries + 1)
            .map_while(|retry| policy.delay_before(retry))
            .collect()
    }

    #[test]
    fn client_side_errors_are_refused_and_server_side_errors_retried() {
        assert_eq!(judge(Ok(200)), Verdict::Delivered);
        assert_eq!(judge(Ok(204)), Verdict::Delivered);
        for status in [301, 302, 400, 403, 404, 410, 429, 499] {
            assert!(
                matches!(judge(Ok(status)), Verdict::Refused(reason) if reason.contains(&status.to_string())),
                "{status}"
            );
        }
        for status in [100, 500, 502, 503, 504, 599] {
            assert!(matches!(judge(Ok(status)), Verdict::Failed(_)), "{status}");
        }
        let timeout = PostError("the endpoint did not answer within 15 seconds".to_owned());
        assert_eq!(
            judge(Err(&timeout)),
            Verdict::Failed(timeout.0.clone()),
            "no answer is a server-side error"
        );
    }

    #[test]
    fn jitter_stays_within_a_tenth_of_the_delay() {
        assert_eq!(jittered_millis(20, 0.0), 18_000);
        assert_eq!(jittered_millis(20, 0.5), 20_000);
        assert_eq!(jittered_millis(20, 0.999_999), 22_000);
        assert_eq!(jittered_millis(20, 1.0), 22_000, "clamped");
        assert_eq!(jittered_millis(20, -3.0), 18_000, "clamped");
        assert_eq!(jittered_millis(20, f64::NAN), 20_000);
        assert_eq!(
            jittered_millis(0, 0.7),
            0,
            "an immediate retry stays immediate"
        );
        let draws: Vec<u64> = (0..1_000)
            .map(|_| jittered_millis(DELAY_SECONDS_MAX, rand::random::<f64>()))
            .collect();
        let (low, high) = (3_240_000, 3_960_000);
        assert!(draws.iter().all(|delay| (low..=high).contains(delay)));
        assert!(
            draws.iter().any(|delay| *delay != draws[0]),
            "the delays are spread, not one value"
        );
    }

    #[test]
    fn the_default_is_three_retries_twenty_seconds_apart() {
        assert_eq!(schedule(&RetryPolicy::default()), [20, 20, 20]);
        assert_eq!(RetryPolicy::default().delay_before(4), None);
    }

    #[test]
    fn phases_run_in_order() {
        let policy = parse_subscription_policy(
            r#"{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":9,"numRetries":8,
                "numNoDelayRetries":2,"numMinDelayRetries":1,"numMaxDelayRetries":1,
                "backoffFunction":"linear"}}"#,
        )
        .unwrap();
        assert_eq!(schedule(&policy.retry), [0, 0, 1, 3, 5, 7, 9, 9]);
    }

    #[test]
    fn backoff_functions_climb_from_min_to_max() {
        for backoff in [
            Backoff::Linear,
            Backoff::Arithmetic,
            Backoff::Geometric,
            Backoff::Exponential,
        ] {
            let delays: Vec<u32> = (1..=5).map(|step| backoff.delay(step, 5, 2, 40)).collect();
            assert!(
                delays.windows(2).all(|pair| pair[0] <= pair[1]),
                "{backoff:?}: {delays:?}"
            );
            assert_eq!(delays.last(), Some(&40), "{backoff:?} ends at the maximum");
            assert!(delays[0] >= 2, "{backoff:?} starts at or above the minimum");
        }
        assert!(Backoff::Exponential.delay(2, 5, 2, 40) < Backoff::Linear.delay(2, 5, 2, 40));
    }

    #[test]
    fn bad_policies_get_aws_style_errors() {
        for (text, fragment) in [
            ("nope", "must be JSON"),
            (
                r#"{"healthyRetryPolicy":{"minDelayTarget":5,"maxDelayTarget":3}}"#,
                "less than or equal",
            ),
            (r#"{"healthyRetryPolicy":{"numRetries":101}}"#, "numRetries"),
            (
                r#"{"healthyRetryPolicy":{"minDelayTarget":0}}"#,
                "minDelayTarget",
            ),
            (
                r#"{"healthyRetryPolicy":{"backoffFunction":"cubic"}}"#,
                "backoffFunction",
            ),
            (
                r#"{"healthyRetryPolicy":{"numRetries":1,"numNoDelayRetries":2}}"#,
                "at least",
            ),
            (
                r#"{"healthyRetryPolicy":{"numRetries":100,"minDelayTarget":60,"maxDelayTarget":60}}"#,
                "total retry time",
            ),
            (
                r#"{"throttlePolicy":{"maxReceivesPerSecond":0}}"#,
                "maxReceivesPerSecond",
            ),
            (r#"{"colour":1}"#, "unknown key"),
        ] {
            let error = parse_subscription_policy(text).unwrap_err();
            assert_eq!(error.code, super::super::SnsErrorCode::InvalidParameter);
            assert!(
                error
                    .message
                    .starts_with("Invalid parameter: DeliveryPolicy: "),
                "{}",
                error.message
            );
            assert!(
                error.message.contains(fragment),
                "{text}: {}",
                error.message
            );
        }
    }

    #[test]
    fn the_topic_decides_unless_subscriptions_may_override() {
        let topic = r#"{"http":{"defaultHealthyRetryPolicy":{"numRetries":1,"minDelayTarget":5,"maxDelayTarget":5},
            "defaultThrottlePolicy":{"maxReceivesPerSecond":3}}}"#;
        let subscription =
            r#"{"healthyRetryPolicy":{"numRetries":2,"minDelayTarget":1,"maxDelayTarget":1}}"#;
        let chosen = effective(Some(topic), Some(subscription));
        assert_eq!(chosen.retry.retries, 2);
        assert_eq!(
            chosen.max_receives_per_second,
            Some(3),
            "inherited from the topic"
        );
        let locked = topic.replace(
            "\"defaultThrottlePolicy\"",
            "\"disableSubscriptionOverrides\":true,\"defaultThrottlePolicy\"",
        );
        assert_eq!(
            effective(Some(&locked), Some(subscription)).retry.retries,
            1
        );
        assert_eq!(effective(None, None), DeliveryPolicy::default());
        assert!(
            parse_topic_policy(r#"{"sqs":{"anything":1}}"#).is_ok(),
            "other protocols are kept, not judged"
        );
    }
}
