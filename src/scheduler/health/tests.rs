//! Cool-downs, the breaker, probes and headroom over time.

use super::*;

fn one() -> Budget<'static> {
    Budget {
        ids: vec!["a"],
        zone: Zone::Utc,
    }
}

const L: Limits = Limits {
    rpm: 10,
    rpd: 100,
    tpm: 0,
    reset_ms: DAY,
};

#[test]
fn hinted_cooldowns_are_exact_and_unhinted_ones_grow() {
    let h = Health::default();
    let cool = |hint| Effect::Cool {
        scope_model: true,
        hint_ms: hint,
        base_ms: 5_000,
        reason: "429".into(),
        not_before: None,
    };
    assert_eq!(h.failure("a", "m", cool(Some(7_000)), 1_000), Some(8_000));
    assert!(!h.read("a").usable("m", 7_999));
    assert!(h.read("a").usable("m", 8_000));
    assert!(h.read("a").usable("other", 2_000), "per model");
    assert_eq!(h.failure("b", "m", cool(None), 0), Some(5_000));
    assert_eq!(h.failure("b", "m", cool(None), 5_000), Some(15_000));
    assert_eq!(h.failure("b", "m", cool(None), 15_000), Some(35_000));
    // Requests in flight when the rest began fail too: no new strikes.
    for t in [15_001, 20_000, 34_999] {
        assert_eq!(h.failure("b", "m", cool(None), t), Some(35_000), "at {t}");
    }
    assert_eq!(h.failure("b", "m", cool(None), 35_000), Some(75_000));
}

#[test]
fn scattered_faults_on_a_busy_account_leave_the_breaker_shut() {
    let h = Health::default();
    // One fault in six, three times in a row at the end of a busy spell:
    // a share of faults, not a streak, opens the breaker.
    for i in 0..60 {
        h.start("a", i);
        if i % 6 == 0 {
            assert_eq!(h.failure("a", "m", Effect::Fault, i), None, "at {i}");
        } else {
            h.success("a", Zone::Utc, "m", 1, i);
        }
    }
    for i in 60..63 {
        h.start("a", i);
        assert_eq!(
            h.failure("a", "m", Effect::Fault, i),
            None,
            "3 of 16 at {i}"
        );
    }
    assert!(h.read("a").usable("m", 64));
    // When most calls fail, it opens.
    let mut opened = None;
    for i in 64..80 {
        h.start("a", i);
        opened = opened.or(h.failure("a", "m", Effect::Fault, i));
    }
    assert!(opened.is_some(), "half or more of the recent calls failed");
}

/// A probe whose client went away, or that ended in something other
/// than a fault, must not leave the account waiting for it forever.
#[test]
fn an_unfinished_probe_leaves_the_account_probeable() {
    let open = |h: &Health| {
        for _ in 0..BREAKER_THRESHOLD {
            h.failure("a", "m", Effect::Fault, 0);
        }
    };
    let t = BREAKER_OPEN_MS;
    let h = Health::default();
    open(&h);
    h.start("a", t);
    assert!(!h.read("a").usable("m", t));
    h.abandon("a");
    assert!(h.read("a").usable("m", t), "the next request probes");
    assert_eq!(h.read("a").in_flight, 0);
    for effect in [
        Effect::None,
        Effect::Broken {
            what: Broken::Credentials,
            reason: "x".into(),
        },
    ] {
        let h = Health::default();
        open(&h);
        h.start("a", t);
        h.failure("a", "m", effect.clone(), t);
        assert!(!h.read("a").breaker.probing, "{effect:?}");
    }
}

#[test]
fn breaker_opens_then_half_opens() {
    let h = Health::default();
    for _ in 0..BREAKER_THRESHOLD - 1 {
        assert_eq!(h.failure("a", "m", Effect::Fault, 0), None);
    }
    assert_eq!(h.failure("a", "m", Effect::Fault, 0), Some(BREAKER_OPEN_MS));
    assert!(!h.read("a").usable("m", 1));
    assert!(
        h.read("a").usable("m", BREAKER_OPEN_MS),
        "half-open: one probe"
    );
    h.start("a", BREAKER_OPEN_MS);
    assert!(
        !h.read("a").usable("m", BREAKER_OPEN_MS),
        "only one probe at a time"
    );
    assert_eq!(
        h.failure("a", "m", Effect::Fault, BREAKER_OPEN_MS),
        Some(3 * BREAKER_OPEN_MS),
        "doubled"
    );
    h.start("a", 3 * BREAKER_OPEN_MS);
    h.success("a", Zone::Utc, "m", 1, 3 * BREAKER_OPEN_MS);
    assert!(h.read("a").usable("m", 3 * BREAKER_OPEN_MS));
}

#[test]
fn huge_hints_rest_an_account_a_week_at_most() {
    let h = Health::default();
    let cool = Effect::Cool {
        scope_model: false,
        hint_ms: Some(u64::MAX),
        base_ms: 5_000,
        reason: "429".into(),
        not_before: None,
    };
    let now = 1_000;
    assert_eq!(
        h.failure("a", "m", cool.clone(), now),
        Some(now + MAX_WAIT_MS)
    );
    assert_eq!(
        h.failure("a", "m", cool, now + 1),
        Some(now + 1 + MAX_WAIT_MS)
    );
    assert!(h.read("a").usable("m", now + 1 + MAX_WAIT_MS));
    // Health saved before the cap comes back capped.
    let mut saved = HashMap::new();
    let mut forever = AccountHealth::default();
    forever.cooling.insert(
        ALL_MODELS.into(),
        Cooldown {
            until_ms: u64::MAX,
            ..Cooldown::default()
        },
    );
    forever.breaker.open_until_ms = u64::MAX;
    saved.insert("b".to_string(), forever);
    h.load(saved);
    let back = now_ms() + MAX_WAIT_MS + 1_000;
    assert!(h.read("b").usable("m", back));
}

#[test]
fn a_probe_in_flight_says_look_again_soon() {
    let h = Health::default();
    for _ in 0..BREAKER_THRESHOLD {
        h.failure("a", "m", Effect::Fault, 0);
    }
    h.start("a", BREAKER_OPEN_MS);
    let ready = h.read("a").ready_at("m", BREAKER_OPEN_MS);
    assert!(
        ready > BREAKER_OPEN_MS && ready <= BREAKER_OPEN_MS + PROBE_RECHECK_MS,
        "{ready}"
    );
}

#[test]
fn headroom_falls_with_use_and_failures() {
    let h = Health::default();
    let full = h.headroom("a", &one(), "m", L, 0);
    for _ in 0..5 {
        h.start("a", 0);
        h.success("a", Zone::Utc, "m", 10, 0);
    }
    let half = h.headroom("a", &one(), "m", L, 1);
    assert!((half - full * 0.5).abs() < 1e-9, "{full} {half}");
    h.start("a", 2);
    h.failure("a", "m", Effect::None, 2);
    assert_eq!(
        h.headroom("a", &one(), "m", L, 2),
        half,
        "a bad request is not the account's fault"
    );
    h.start("a", 2);
    h.failure("a", "m", Effect::Fault, 2);
    let failed = h.headroom("a", &one(), "m", L, 3);
    assert!(failed < half);
    assert!(
        h.headroom("a", &one(), "m", L, MINUTE) > failed,
        "the minute window rolled"
    );
}
