//! Routing and the three scheduling modes over time.

use super::*;
use crate::store::Secret;

fn account(name: &str, kind: ProviderKind, models: &[&str]) -> Arc<Account> {
    Arc::new(Account {
        id: name.into(),
        name: name.into(),
        kind,
        base_url: String::new(),
        models: models.iter().map(|m| m.to_string()).collect(),
        enabled: true,
        secret: Secret::new("k".into()),
        tier: kind.default_tier(),
        proxy: None,
        project: None,
    })
}

#[test]
fn maps_and_resolves() {
    let mut map = std::collections::BTreeMap::new();
    map.insert(
        "model_map.gpt-4o*".to_string(),
        "gemini-2.5-flash".to_string(),
    );
    let snap = Snapshot {
        accounts: vec![
            account("g1", ProviderKind::Gemini, &[]),
            account("g2", ProviderKind::Gemini, &[]),
            account("ds", ProviderKind::Openai, &["deepseek-chat"]),
        ],
        settings: Settings::from_map(&map),
        keys: Vec::new(),
    };
    let s = Scheduler::default();
    let a = s.resolve(&snap, "gpt-4o-mini").unwrap();
    assert_eq!(a.model, "gemini-2.5-flash");
    assert_eq!(a.accounts.len(), 2);
    let ds = s.resolve(&snap, "deepseek-chat").unwrap();
    assert_eq!(
        (ds.kind, ds.accounts[0].name.as_str()),
        (ProviderKind::Openai, "ds")
    );
    assert_eq!(s.resolve(&snap, "nope").unwrap_err().status(), 404);
    let empty = Snapshot::default();
    assert_eq!(
        s.resolve(&empty, "gemini-2.5-pro").unwrap_err().status(),
        503
    );
}

fn pool(mode: &str) -> (Scheduler, Snapshot, Route) {
    let mut map = std::collections::BTreeMap::new();
    map.insert("scheduling".to_string(), mode.to_string());
    let snap = Snapshot {
        accounts: vec![
            account("a", ProviderKind::Gemini, &[]),
            account("b", ProviderKind::Gemini, &[]),
        ],
        settings: Settings::from_map(&map),
        keys: Vec::new(),
    };
    let s = Scheduler::default();
    let route = s.resolve(&snap, "gemini-2.5-flash").unwrap();
    (s, snap, route)
}

fn pick(s: &Scheduler, snap: &Snapshot, route: &Route, session: &str, now: u64) -> String {
    match s.next(snap, route, session, &[], now) {
        Next::Account { account, .. } => account.id.clone(),
        other => format!("{other:?}"),
    }
}

fn serve(s: &Scheduler, snap: &Snapshot, route: &Route, session: &str, now: u64) -> String {
    let id = pick(s, snap, route, session, now);
    let acc = snap.accounts.iter().find(|a| a.id == id).unwrap();
    s.started(acc, now).settle();
    s.succeeded(snap, acc, &route.model, session, 100, now);
    id
}

fn rest(s: &Scheduler, id: &str, ms: u64, now: u64) {
    let effect = Effect::Cool {
        scope_model: false,
        hint_ms: Some(ms),
        base_ms: 1000,
        reason: "test".into(),
        not_before: None,
    };
    s.health.start(id, now);
    s.health.failure(id, "gemini-2.5-flash", effect, now);
}

#[test]
fn balance_sticks_sessions_and_sends_new_ones_to_headroom() {
    let (s, snap, route) = pool("balance");
    let first = serve(&s, &snap, &route, "s1", 0);
    assert_eq!(first, "a", "ties go to the user's order");
    for t in 1..4 {
        assert_eq!(serve(&s, &snap, &route, "s1", t), "a", "the session stays");
    }
    assert_eq!(
        serve(&s, &snap, &route, "s2", 5),
        "b",
        "a new session goes where there is headroom"
    );
    rest(&s, "a", 60_000, 6);
    assert_eq!(
        serve(&s, &snap, &route, "s1", 7),
        "b",
        "balance moves a session off a resting account"
    );
}

#[test]
fn cache_first_waits_for_a_briefly_resting_account() {
    let (s, snap, route) = pool("cache-first");
    assert_eq!(serve(&s, &snap, &route, "s1", 0), "a");
    rest(&s, "a", 10_000, 1);
    assert!(matches!(
        s.next(&snap, &route, "s1", &[], 2),
        Next::Wait { ms: 9_999, .. }
    ));
    rest(&s, "a", 120_000, 3);
    assert_eq!(
        pick(&s, &snap, &route, "s1", 4),
        "b",
        "too long a rest: move"
    );
}

#[test]
fn performance_spreads_by_load() {
    let (s, snap, route) = pool("performance");
    std::mem::forget(s.started(&snap.accounts[0], 0));
    assert_eq!(pick(&s, &snap, &route, "s1", 1), "b", "least in flight");
    std::mem::forget(s.started(&snap.accounts[1], 1));
    std::mem::forget(s.started(&snap.accounts[1], 1));
    assert_eq!(pick(&s, &snap, &route, "s1", 2), "a");
}

#[test]
fn nothing_usable_reports_when_something_returns() {
    let (s, snap, route) = pool("balance");
    rest(&s, "a", 5_000, 0);
    rest(&s, "b", 3_000, 0);
    assert!(matches!(
        s.next(&snap, &route, "x", &[], 1),
        Next::Exhausted {
            ready_at_ms: Some(3_000)
        }
    ));
}
