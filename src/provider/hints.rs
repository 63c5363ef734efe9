//! What upstreams say about waiting and quota, in the many forms they say it:
//! `Retry-After`, Google's `RetryInfo.retryDelay` and `quotaResetDelay` /
//! `quotaResetTimeStamp`, and the `x-ratelimit-*` / `anthropic-ratelimit-*`
//! headers of successful answers. Every wait is capped at `scheduler::MAX_WAIT_MS`, so
//! no hint, however large, rests an account for longer than a week.

use crate::scheduler::capped;
use reqwest::header::HeaderMap;

/// A `Retry-After` header value as a wait from `now_ms`: RFC 9110 §10.2.3
/// allows `delay-seconds` (digits) or an `HTTP-date` (IMF-fixdate, and the
/// obsolete RFC 850 and asctime forms a recipient must accept, §5.6.7). A
/// date in the past means now; a negative or garbled value is no hint.
pub fn retry_after(value: &str, now_ms: u64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is still a long wait: the cap, not nothing.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(capped(secs.saturating_mul(1000)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Some(capped(at_ms.saturating_sub(now_ms)))
}

/// A Google duration (`"36.5s"`, `"850ms"`, `"1h2m3s"`; protobuf's
/// `Duration` in JSON is seconds with an `s`) in milliseconds, capped.
pub fn duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let value: f64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'h' => 3_600_000.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1.0
            }
            'm' => 60_000.0,
            's' => 1_000.0,
            _ => return None,
        };
        total += value * unit;
        any = true;
    }
    // `as` saturates a float too large for u64; the cap does the rest.
    (any && num.is_empty()).then(|| capped(total.ceil() as u64))
}

/// An RFC 3339 time (`2026-11-26T14:00:00Z`, fractions and offsets allowed)
/// as Unix milliseconds.
pub fn rfc3339_ms(s: &str) -> Option<u64> {
    // Small unsigned fields (RFC 3339 has 4-digit years, 2-digit the rest),
    // so no arithmetic below can overflow whatever the upstream wrote.
    fn field<T: std::str::FromStr + Into<i64>>(s: &str) -> Option<i64> {
        s.parse::<T>().ok().map(Into::into)
    }
    let s = s.trim();
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let (y, mo, day) = (
        field::<u16>(d.next()?)?,
        field::<u8>(d.next()?)?,
        field::<u8>(d.next()?)?,
    );
    let (time, offset_min) = match rest.strip_suffix(['Z', 'z']) {
        Some(t) => (t, 0),
        None => {
            let at = rest.rfind(['+', '-'])?;
            let (t, off) = rest.split_at(at);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let (oh, om) = off[1..].split_once(':')?;
            (t, sign * (field::<u8>(oh)? * 60 + field::<u8>(om)?))
        }
    };
    let mut t = time.split(':');
    let (h, mi) = (field::<u8>(t.next()?)?, field::<u8>(t.next()?)?);
    let sec: f64 = t.next()?.parse().ok()?;
    if !(0.0..61.0).contains(&sec) {
        return None;
    }
    let days = crate::util::days_from_civil(y, mo, day);
    let secs = days * 86_400 + h * 3_600 + mi * 60 - offset_min * 60;
    u64::try_from(secs)
        .ok()
        .map(|s| s * 1000 + (sec * 1000.0) as u64)
}

/// The wait a Google error body asks for: `RetryInfo.retryDelay` (the
/// `google.rpc.RetryInfo` detail of `google/rpc/error_details.proto`), else
/// the quota's reset delay or time stamp (`ErrorInfo.metadata`); capped.
pub fn retry_in_body(body: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let details = v["error"]["details"].as_array()?;
    let field = |name: &str| {
        details.iter().find_map(|d| {
            d.get(name)
                .or_else(|| d["metadata"].get(name))
                .and_then(|x| x.as_str())
                .map(str::to_string)
        })
    };
    if let Some(ms) = field("retryDelay").as_deref().and_then(duration_ms) {
        return Some(ms);
    }
    if let Some(ms) = field("quotaResetDelay").as_deref().and_then(duration_ms) {
        return Some(ms);
    }
    let at = field("quotaResetTimeStamp")
        .as_deref()
        .and_then(rfc3339_ms)?;
    Some(capped(at.saturating_sub(crate::util::now_ms())))
}

/// What is left of the request quota, from a successful answer's headers.
pub fn remaining(headers: &HeaderMap, now_ms: u64) -> Option<(f64, u64)> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let num = |name: &str| get(name).and_then(|v| v.trim().parse::<f64>().ok());
    for (remaining, limit, reset) in [
        (
            "anthropic-ratelimit-requests-remaining",
            "anthropic-ratelimit-requests-limit",
            "anthropic-ratelimit-requests-reset",
        ),
        (
            "x-ratelimit-remaining-requests",
            "x-ratelimit-limit-requests",
            "x-ratelimit-reset-requests",
        ),
    ] {
        if let (Some(left), Some(limit)) = (num(remaining), num(limit))
            && limit > 0.0
        {
            let reset_ms = get(reset)
                .and_then(|r| {
                    rfc3339_ms(r).or_else(|| duration_ms(r).map(|d| now_ms.saturating_add(d)))
                })
                .unwrap_or(now_ms.saturating_add(60_000));
            return Some((left / limit, reset_ms));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::MAX_WAIT_MS;

    #[test]
    fn durations() {
        for (s, ms) in [
            ("36.5s", Some(36_500)),
            ("850ms", Some(850)),
            ("1h2m3s", Some(3_723_000)),
            ("6m0s", Some(360_000)),
            ("", None),
            ("5x", None),
            ("12", None),
            ("0.5s", Some(500)),
            ("99999999999999999999s", Some(MAX_WAIT_MS)),
            ("1e400s", None),
        ] {
            assert_eq!(duration_ms(s), ms, "{s}");
        }
    }

    #[test]
    fn retry_after_values() {
        // 2026-11-26T14:00:00Z, the IMF-fixdate below.
        let now = 1_795_701_600_000;
        for (value, ms) in [
            ("17", Some(17_000)),
            (" 0 ", Some(0)),
            ("99999999999999999999", Some(MAX_WAIT_MS)),
            ("18446744073709551615", Some(MAX_WAIT_MS)),
            ("604801", Some(MAX_WAIT_MS)),
            ("-5", None),
            ("1.5", None),
            ("inf", None),
            ("", None),
            ("Thu, 26 Nov 2026 14:00:37 GMT", Some(37_000)),
            ("Thursday, 26-Nov-26 14:00:37 GMT", Some(37_000)),
            ("Thu Nov 26 14:00:37 2026", Some(37_000)),
            ("Wed, 25 Nov 2026 14:00:00 GMT", Some(0)),
            ("Fri, 31 Dec 9999 23:59:59 GMT", Some(MAX_WAIT_MS)),
            ("Thu, 26 Nov 2026 25:00:00 GMT", None),
        ] {
            assert_eq!(retry_after(value, now), ms, "{value:?}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_ms("2026-11-26T14:00:00Z"), Some(1_795_701_600_000));
        assert_eq!(
            rfc3339_ms("2026-11-26T15:00:00.5+01:00"),
            Some(1_795_701_600_500)
        );
        assert_eq!(rfc3339_ms("yesterday"), None);
        // Fields too large for their place are refused, not overflowed.
        for bad in [
            "99999999999-01-01T00:00:00Z",
            "2026-99999999999-01T00:00:00Z",
            "2026-01-01T99999999999:00:00Z",
            "2026-01-01T00:00:00+99999999999:00",
            "2026-01-01T00:00:inf",
        ] {
            assert_eq!(rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn google_bodies() {
        let retry = br#"{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"36.5s"}]}}"#;
        assert_eq!(retry_in_body(retry), Some(36_500));
        let quota = br#"{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"QUOTA_EXHAUSTED","metadata":{"quotaResetDelay":"2h1m"}}]}}"#;
        assert_eq!(retry_in_body(quota), Some(7_260_000));
        let years = br#"{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","metadata":{"quotaResetTimeStamp":"9999-12-31T00:00:00Z"}}]}}"#;
        assert_eq!(retry_in_body(years), Some(MAX_WAIT_MS));
        assert_eq!(retry_in_body(b"{}"), None);
        assert_eq!(retry_in_body(b"<html>"), None);
    }

    #[test]
    fn rate_limit_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit-requests", "100".parse().unwrap());
        h.insert("x-ratelimit-remaining-requests", "25".parse().unwrap());
        h.insert("x-ratelimit-reset-requests", "6m0s".parse().unwrap());
        assert_eq!(remaining(&h, 1000), Some((0.25, 361_000)));
    }
}
