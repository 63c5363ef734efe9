//! When a provider's day starts: per-day quotas reset at the provider's own
//! midnight, not at UTC's.
//!
//! Google resets Gemini's requests-per-day quotas "at midnight Pacific
//! time" (ai.google.dev/gemini-api/docs/rate-limits); Pacific time follows
//! the United States' daylight saving rule (15 U.S.C. 260a, since 2007):
//! from 02:00 on the second Sunday of March to 02:00 on the first Sunday of
//! November it is UTC−7, otherwise UTC−8. Other providers state no daily
//! reset; their day is UTC's.

use crate::util::{DAY, civil_from_days, days_from_civil};

const HOUR: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Utc,
    Pacific,
}

impl Zone {
    /// Milliseconds to add to a UTC time to get local time, at `utc_ms`.
    fn offset(self, utc_ms: i64) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Pacific if pacific_summer(utc_ms) => -7 * HOUR,
            Zone::Pacific => -8 * HOUR,
        }
    }

    /// The start of the local day holding `now` (Unix milliseconds).
    pub fn day_start(self, now: u64) -> u64 {
        let now = i64::try_from(now).unwrap_or(i64::MAX / 2);
        let local = now + self.offset(now);
        let midnight = local - local.rem_euclid(DAY as i64);
        self.to_utc(midnight).max(0) as u64
    }

    /// The next local midnight after `now`: when a per-day quota comes back.
    pub fn next_day(self, now: u64) -> u64 {
        let start = i64::try_from(self.day_start(now)).unwrap_or(0);
        let local_next = start + self.offset(start) + DAY as i64;
        self.to_utc(local_next).max(0) as u64
    }

    /// A local midnight as UTC (midnight never falls in a DST change, which
    /// happens at 02:00, so exactly one offset fits).
    fn to_utc(self, local: i64) -> i64 {
        [-8 * HOUR, -7 * HOUR, 0]
            .into_iter()
            .map(|o| local - o)
            .find(|&utc| local == utc + self.offset(utc))
            .unwrap_or(local)
    }
}

/// The `n`th Sunday (1-based) of month `m` of year `y`, as a day count.
fn sunday(y: i64, m: i64, n: i64) -> i64 {
    let first = days_from_civil(y, m, 1);
    // 1970-01-01 was a Thursday: weekday 0 is Sunday.
    let weekday = (first + 4).rem_euclid(7);
    first + (7 - weekday) % 7 + 7 * (n - 1)
}

/// Whether Pacific daylight time is in force at `utc_ms`.
fn pacific_summer(utc_ms: i64) -> bool {
    let (y, _, _) = civil_from_days(utc_ms.div_euclid(DAY as i64));
    // 02:00 PST is 10:00 UTC; 02:00 PDT is 09:00 UTC.
    let begins = sunday(y, 3, 2) * DAY as i64 + 10 * HOUR;
    let ends = sunday(y, 11, 1) * DAY as i64 + 9 * HOUR;
    (begins..ends).contains(&utc_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: i64, d: i64, h: i64) -> u64 {
        (days_from_civil(y, m, d) * DAY as i64 + h * HOUR) as u64
    }

    #[test]
    fn pacific_days_follow_daylight_saving() {
        // Winter: midnight PST is 08:00 UTC.
        assert_eq!(
            Zone::Pacific.day_start(at(2026, 1, 15, 12)),
            at(2026, 1, 15, 8)
        );
        assert_eq!(
            Zone::Pacific.day_start(at(2026, 1, 15, 7)),
            at(2026, 1, 14, 8)
        );
        assert_eq!(
            Zone::Pacific.next_day(at(2026, 1, 15, 12)),
            at(2026, 1, 16, 8)
        );
        // Summer: midnight PDT is 07:00 UTC.
        assert_eq!(
            Zone::Pacific.day_start(at(2026, 7, 4, 7)),
            at(2026, 7, 4, 7)
        );
        assert_eq!(Zone::Pacific.next_day(at(2026, 7, 4, 6)), at(2026, 7, 4, 7));
        // 2026: DST from 8 March to 1 November. The day it begins is 23 hours
        // long, the day it ends 25.
        assert_eq!(Zone::Pacific.next_day(at(2026, 3, 8, 9)), at(2026, 3, 9, 7));
        assert_eq!(
            Zone::Pacific.day_start(at(2026, 3, 8, 9)),
            at(2026, 3, 8, 8)
        );
        assert_eq!(
            Zone::Pacific.next_day(at(2026, 11, 1, 8)),
            at(2026, 11, 2, 8)
        );
        assert_eq!(
            Zone::Pacific.day_start(at(2026, 11, 1, 8)),
            at(2026, 11, 1, 7)
        );
        assert_eq!(Zone::Utc.day_start(at(2026, 3, 8, 9)), at(2026, 3, 8, 0));
        assert_eq!(Zone::Utc.next_day(at(2026, 3, 8, 9)), at(2026, 3, 9, 0));
        assert_eq!(Zone::Pacific.day_start(0), 0, "no time before 1970");
        assert!(Zone::Pacific.next_day(u64::MAX) > 0);
    }
}
