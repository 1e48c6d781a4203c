//! Request signing: AWS Signature Version 4 (`X-Amz-Date` and `Authorization`).
//!
//! Every request is a `POST /` with an AWS JSON 1.0 body, so the canonical request has one shape:
//!
//! ```text
//! POST
//! /
//!
//! content-type:application/x-amz-json-1.0
//! host:HOST
//! x-amz-date:YYYYMMDDTHHMMSSZ
//! x-amz-target:AmazonSQS.ACTION
//!
//! content-type;host;x-amz-date;x-amz-target
//! hex(SHA-256(body))
//! ```
//!
//! and the signature is `hex(HMAC(signing key, string to sign))`, where the string to sign names
//! the algorithm, the date, the credential scope and the canonical request's SHA-256, and the
//! signing key is the HMAC chain `"AWS4" + secret → date → region → service → "aws4_request"`.
//!
//! What it costs per request: one SHA-256 over the body, one over the (short) canonical request,
//! and one HMAC over the (short) string to sign with a key state prepared once a day (the signing
//! key only changes with the date). The canonical request and the string to sign are built in
//! buffers the signer keeps; the `X-Amz-Date` value is rebuilt once a second.
//!
//! `canonical_request` and `signature` are the general forms, checked against AWS's published
//! SigV4 test vectors in the tests below; the fast path is checked against them.

#[cfg(test)]
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use hyper::header::HeaderValue;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The credentials requests are signed with. The keys default to the ones local SQS tools use.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub service: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            access_key_id: "test".to_owned(),
            secret_access_key: "test".to_owned(),
            region: "us-east-1".to_owned(),
            service: "sqs".to_owned(),
        }
    }
}

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const SIGNED_HEADERS: &str = "content-type;host;x-amz-date;x-amz-target";

/// Signs a connection's requests, caching what depends only on the day or the second.
pub struct Signer {
    credentials: Credentials,
    host: String,
    /// The unix day the signing key and the scope belong to.
    key_day: u64,
    /// HMAC state keyed with the day's signing key; cloned for each signature.
    key: HmacSha256,
    /// `YYYYMMDD/region/service/aws4_request`.
    scope: String,
    /// `Credential=…/SCOPE, SignedHeaders=…, Signature=` — the Authorization value's prefix.
    authorization_prefix: String,
    /// The second `amz_date` belongs to.
    date_second: u64,
    amz_date: String,
    amz_date_value: HeaderValue,
    canonical: String,
    to_sign: String,
    authorization: String,
}

impl Signer {
    pub fn new(credentials: Credentials, host: &str) -> Self {
        let mut signer = Signer {
            key: signing_key(&credentials, "19700101"),
            credentials,
            host: host.to_owned(),
            key_day: u64::MAX,
            scope: String::new(),
            authorization_prefix: String::new(),
            date_second: u64::MAX,
            amz_date: String::new(),
            amz_date_value: HeaderValue::from_static(""),
            canonical: String::with_capacity(512),
            to_sign: String::with_capacity(256),
            authorization: String::with_capacity(256),
        };
        signer.set_time(unix_now_s());
        signer
    }

    /// `(X-Amz-Date, Authorization)` for a request with this target and body, sent now.
    pub fn headers(&mut self, target: &str, body: &[u8]) -> (HeaderValue, HeaderValue) {
        let now_s = unix_now_s();
        if now_s != self.date_second {
            self.set_time(now_s);
        }
        self.sign(target, body);
        let authorization = HeaderValue::from_str(&self.authorization)
            .expect("credentials come from the command line and are visible ASCII");
        (self.amz_date_value.clone(), authorization)
    }

    /// The Authorization value for `target` and `body` at the signer's current time, left in
    /// `self.authorization`.
    fn sign(&mut self, target: &str, body: &[u8]) {
        let payload_hash = Sha256::digest(body);
        self.canonical.clear();
        self.canonical.push_str("POST\n/\n\ncontent-type:");
        self.canonical.push_str(CONTENT_TYPE);
        self.canonical.push_str("\nhost:");
        self.canonical.push_str(&self.host);
        self.canonical.push_str("\nx-amz-date:");
        self.canonical.push_str(&self.amz_date);
        self.canonical.push_str("\nx-amz-target:");
        self.canonical.push_str(target);
        self.canonical.push_str("\n\n");
        self.canonical.push_str(SIGNED_HEADERS);
        self.canonical.push('\n');
        push_hex(&mut self.canonical, &payload_hash);

        let canonical_hash = Sha256::digest(self.canonical.as_bytes());
        self.to_sign.clear();
        self.to_sign.push_str(ALGORITHM);
        self.to_sign.push('\n');
        self.to_sign.push_str(&self.amz_date);
        self.to_sign.push('\n');
        self.to_sign.push_str(&self.scope);
        self.to_sign.push('\n');
        push_hex(&mut self.to_sign, &canonical_hash);

        let mut mac = self.key.clone();
        mac.update(self.to_sign.as_bytes());
        let signature = mac.finalize().into_bytes();
        self.authorization.clear();
        self.authorization.push_str(&self.authorization_prefix);
        push_hex(&mut self.authorization, &signature);
    }

    fn set_time(&mut self, unix_s: u64) {
        self.amz_date = amz_date(unix_s);
        self.amz_date_value = HeaderValue::from_str(&self.amz_date).expect("amz date is ASCII");
        self.date_second = unix_s;
        let day = unix_s / 86_400;
        if day != self.key_day {
            let date = &self.amz_date[..8];
            self.key = signing_key(&self.credentials, date);
            self.scope = scope(&self.credentials, date);
            self.authorization_prefix = format!(
                "{ALGORITHM} Credential={}/{}, SignedHeaders={SIGNED_HEADERS}, Signature=",
                self.credentials.access_key_id, self.scope
            );
            self.key_day = day;
        }
    }
}

/// `YYYYMMDD/region/service/aws4_request`.
fn scope(credentials: &Credentials, date_yyyymmdd: &str) -> String {
    format!(
        "{date_yyyymmdd}/{}/{}/aws4_request",
        credentials.region, credentials.service
    )
}

/// An HMAC state keyed with the day's signing key.
fn signing_key(credentials: &Credentials, date_yyyymmdd: &str) -> HmacSha256 {
    let secret = format!("AWS4{}", credentials.secret_access_key);
    let mut key = hmac(secret.as_bytes(), date_yyyymmdd.as_bytes());
    for part in [
        credentials.region.as_str(),
        credentials.service.as_str(),
        "aws4_request",
    ] {
        key = hmac(&key, part.as_bytes());
    }
    HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
}

/// The general canonical request for a path without query string: `headers` are
/// `(lowercase name, trimmed value)` pairs, sorted by name.
#[cfg(test)]
pub fn canonical_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let mut canonical = format!("{method}\n{path}\n\n");
    for (name, value) in headers {
        let _ = writeln!(canonical, "{name}:{value}");
    }
    canonical.push('\n');
    let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
    canonical.push_str(&names.join(";"));
    canonical.push('\n');
    push_hex(&mut canonical, &Sha256::digest(body));
    canonical
}

/// The general signature of a canonical request made at `amz_date`.
#[cfg(test)]
pub fn signature(credentials: &Credentials, amz_date: &str, canonical_request: &str) -> String {
    let scope = scope(credentials, &amz_date[..8]);
    let mut to_sign = format!("{ALGORITHM}\n{amz_date}\n{scope}\n");
    push_hex(&mut to_sign, &Sha256::digest(canonical_request.as_bytes()));
    let mut mac = signing_key(credentials, &amz_date[..8]);
    mac.update(to_sign.as_bytes());
    let mut signature = String::new();
    push_hex(&mut signature, &mac.finalize().into_bytes());
    signature
}

/// `unix_s` as SigV4's basic ISO 8601 timestamp, `YYYYMMDDTHHMMSSZ`, in UTC.
pub fn amz_date(unix_s: u64) -> String {
    let days = unix_s / 86_400;
    let second_of_day = unix_s % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn unix_now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials and scope of AWS's SigV4 test suite (`aws-sig-v4-test-suite`, as shipped
    /// in `aws-sigv4`'s `aws-signing-test-suite/v4`).
    fn suite_credentials() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
            region: "us-east-1".to_owned(),
            service: "service".to_owned(),
        }
    }

    const SUITE_DATE: &str = "20150830T123600Z";

    #[test]
    fn aws_test_suite_post_vanilla() {
        let canonical = canonical_request(
            "POST",
            "/",
            &[
                ("host", "example.amazonaws.com"),
                ("x-amz-date", SUITE_DATE),
            ],
            b"",
        );
        assert_eq!(
            canonical,
            "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            signature(&suite_credentials(), SUITE_DATE, &canonical),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn aws_test_suite_post_header_key_sort() {
        let canonical = canonical_request(
            "POST",
            "/",
            &[
                ("host", "example.amazonaws.com"),
                ("my-header1", "value1"),
                ("x-amz-date", SUITE_DATE),
            ],
            b"",
        );
        assert_eq!(
            signature(&suite_credentials(), SUITE_DATE, &canonical),
            "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"
        );
    }

    #[test]
    fn aws_test_suite_post_x_www_form_urlencoded_with_a_body() {
        let body = b"Param1=value1";
        let canonical = canonical_request(
            "POST",
            "/",
            &[
                ("content-length", "13"),
                ("content-type", "application/x-www-form-urlencoded"),
                ("host", "example.amazonaws.com"),
                (
                    "x-amz-content-sha256",
                    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
                ),
                ("x-amz-date", SUITE_DATE),
            ],
            body,
        );
        assert!(
            canonical
                .ends_with("\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        );
        assert_eq!(
            signature(&suite_credentials(), SUITE_DATE, &canonical),
            "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"
        );
    }

    #[test]
    fn fast_path_matches_the_general_form() {
        let credentials = Credentials {
            access_key_id: "AKID".to_owned(),
            secret_access_key: "secret".to_owned(),
            region: "eu-west-1".to_owned(),
            service: "sqs".to_owned(),
        };
        let mut signer = Signer::new(credentials.clone(), "127.0.0.1:9324");
        for (unix_s, target, body) in [
            (
                1_440_938_160,
                "AmazonSQS.SendMessageBatch",
                &b"{\"QueueUrl\":\"u\"}"[..],
            ),
            (1_440_938_161, "AmazonSQS.ReceiveMessage", &b""[..]),
            (1_767_225_600, "AmazonSQS.DeleteMessageBatch", &b"{}"[..]), // a new day: new key
        ] {
            signer.set_time(unix_s);
            signer.sign(target, body);
            let date = amz_date(unix_s);
            let canonical = canonical_request(
                "POST",
                "/",
                &[
                    ("content-type", CONTENT_TYPE),
                    ("host", "127.0.0.1:9324"),
                    ("x-amz-date", &date),
                    ("x-amz-target", target),
                ],
                body,
            );
            assert_eq!(signer.canonical, canonical);
            assert_eq!(
                signer.authorization,
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKID/{}/eu-west-1/sqs/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
                    &date[..8],
                    signature(&credentials, &date, &canonical)
                )
            );
        }
    }

    #[test]
    fn amz_date_formats_utc() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), SUITE_DATE);
        assert_eq!(amz_date(1_767_225_600), "20260101T000000Z");
        assert_eq!(amz_date(951_782_400 + 3661), "20000229T010101Z"); // a leap day
        assert_eq!(amz_date(1_709_251_199), "20240229T235959Z");
        assert_eq!(amz_date(4_102_444_799), "20991231T235959Z");
    }

    #[test]
    fn signer_dates_the_credential_scope_like_the_header() {
        let mut signer = Signer::new(Credentials::default(), "h");
        let (date, authorization) = signer.headers("AmazonSQS.ReceiveMessage", b"{}");
        let date = date.to_str().unwrap();
        let scope = format!("Credential=test/{}/", &date[..8]);
        assert!(authorization.to_str().unwrap().contains(&scope));
    }
}
