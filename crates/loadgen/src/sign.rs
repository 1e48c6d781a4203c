//! Request signing: the `X-Amz-Date` and `Authorization` headers.
//!
//! NOT YET REAL SigV4. The `Authorization` header has SigV4's shape (algorithm, credential scope,
//! signed headers) but its `Signature` is a fixed placeholder, not an HMAC over a canonical
//! request. A server that verifies signatures will reject these requests; one with auth off
//! (Tern's default, and every emulator) accepts them. Real signing belongs in `Signer::headers`
//! alone: it will need the request body's SHA-256 and an HMAC chain per request, which is why the
//! signer is handed the body even though it does not use it yet.
//!
//! Until then the headers depend only on the current second, so they are built once per second
//! per connection and cloned (a reference-count increment) into each request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::HeaderValue;

/// The credential scope the requests claim. The access key is the one local SQS tools use.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            access_key_id: "test".to_owned(),
            region: "us-east-1".to_owned(),
            service: "sqs".to_owned(),
        }
    }
}

/// The placeholder in place of a signature: 64 hex digits, the length of a real one.
const PLACEHOLDER_SIGNATURE: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Builds a connection's signing headers, caching them for the second they belong to.
pub struct Signer {
    credentials: Credentials,
    cached_unix_s: u64,
    amz_date: HeaderValue,
    authorization: HeaderValue,
}

impl Signer {
    pub fn new(credentials: Credentials) -> Self {
        let mut signer = Signer {
            credentials,
            cached_unix_s: u64::MAX,
            amz_date: HeaderValue::from_static(""),
            authorization: HeaderValue::from_static(""),
        };
        signer.refresh(unix_now_s());
        signer
    }

    /// `(X-Amz-Date, Authorization)` for a request with this body, sent now.
    pub fn headers(&mut self, _body: &[u8]) -> (HeaderValue, HeaderValue) {
        let now_s = unix_now_s();
        if now_s != self.cached_unix_s {
            self.refresh(now_s);
        }
        (self.amz_date.clone(), self.authorization.clone())
    }

    fn refresh(&mut self, unix_s: u64) {
        let amz_date = amz_date(unix_s);
        let authorization = authorization(&self.credentials, &amz_date[..8]);
        self.amz_date = HeaderValue::from_str(&amz_date).expect("amz date is ASCII");
        self.authorization = HeaderValue::from_str(&authorization)
            .expect("credentials come from the command line and are visible ASCII");
        self.cached_unix_s = unix_s;
    }
}

/// The `Authorization` value for a request dated `date_yyyymmdd` (placeholder signature).
pub fn authorization(credentials: &Credentials, date_yyyymmdd: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{}/{}/{}/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        credentials.access_key_id,
        date_yyyymmdd,
        credentials.region,
        credentials.service,
        PLACEHOLDER_SIGNATURE,
    )
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

    #[test]
    fn amz_date_formats_utc() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_767_225_600), "20260101T000000Z");
        assert_eq!(amz_date(951_782_400 + 3661), "20000229T010101Z"); // a leap day
        assert_eq!(amz_date(1_709_251_199), "20240229T235959Z");
        assert_eq!(amz_date(4_102_444_799), "20991231T235959Z");
    }

    #[test]
    fn authorization_has_the_sigv4_shape() {
        let value = authorization(&Credentials::default(), "20260101");
        assert_eq!(
            value,
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature={PLACEHOLDER_SIGNATURE}"
            )
        );
    }

    #[test]
    fn signer_dates_the_credential_scope_like_the_header() {
        let mut signer = Signer::new(Credentials::default());
        let (date, authorization) = signer.headers(b"{}");
        let date = date.to_str().unwrap();
        let scope = format!("Credential=test/{}/", &date[..8]);
        assert!(authorization.to_str().unwrap().contains(&scope));
    }
}
