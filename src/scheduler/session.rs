//! Session keys and which account each session sticks to.
//!
//! A session is the client's own identity for a conversation where it sends
//! one, else a hash of the conversation's stable start (system prompt and
//! first user message), which does not change from turn to turn.

use crate::canonical::{Part, Request, Role};
use crate::util::hex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Sessions idle for longer than this are forgotten.
const IDLE_MS: u64 = 6 * 3_600_000;
/// Bound on remembered sessions; the oldest are dropped first.
const MAX_SESSIONS: usize = 50_000;

/// The session key of a request: a client-sent id (`header`), the one inside
/// the body (`Request::session`), or a hash of the conversation's start.
pub fn session_key(header: Option<&str>, req: &Request) -> String {
    if let Some(id) = header.or(req.session.as_deref()).filter(|s| !s.is_empty()) {
        return format!("client:{id}");
    }
    let mut h = Sha256::new();
    for s in &req.system {
        h.update(s.as_bytes());
        h.update([0]);
    }
    h.update([1]);
    let first_user = req.messages.iter().find(|m| m.role == Role::User);
    for part in first_user.into_iter().flat_map(|m| &m.parts) {
        if let Part::Text(t) = part {
            h.update(t.as_bytes());
            h.update([0]);
        }
    }
    let digest: [u8; 32] = h.finalize().into();
    format!("hash:{}", hex(&digest[..16]))
}

/// A session key as the Monitor and Usage pages show it: a hash cut to 12
/// digits, a client's id (which it may make as long as it likes) to 64
/// characters.
pub fn shown_session(key: &str) -> String {
    let keep = if key.starts_with("hash:") {
        5 + 12
    } else {
        7 + 64
    };
    key.chars().take(keep).collect()
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, (String, u64)>>,
}

impl Sessions {
    /// The account this session is on, if it is still remembered.
    pub fn get(&self, key: &str, now: u64) -> Option<String> {
        let map = self.map.lock().expect("sessions lock");
        map.get(key)
            .filter(|(_, at)| now < at + IDLE_MS)
            .map(|(a, _)| a.clone())
    }

    /// Puts the session on `account`; says whether that is news (a new
    /// session, or one that moved), which a cluster tells its other instances.
    pub fn stick(&self, key: &str, account: &str, now: u64) -> bool {
        let mut map = self.map.lock().expect("sessions lock");
        if map.len() >= MAX_SESSIONS && !map.contains_key(key) {
            // Full: drop the idle ones and, if that is not enough, the oldest
            // tenth at once, so the scan happens once per many new sessions
            // rather than on every one.
            map.retain(|_, (_, at)| now < *at + IDLE_MS);
            if map.len() >= MAX_SESSIONS {
                let mut times: Vec<u64> = map.values().map(|(_, at)| *at).collect();
                let cut = times.len() / 10;
                let (_, &mut cutoff, _) = times.select_nth_unstable(cut);
                map.retain(|_, (_, at)| *at > cutoff);
            }
        }
        let old = map.insert(key.to_string(), (account.to_string(), now));
        old.is_none_or(|(a, at)| a != account || now >= at + IDLE_MS)
    }

    /// Every session in use, for a cluster that lost what it knew.
    pub fn all(&self, now: u64) -> Vec<(String, String)> {
        let map = self.map.lock().expect("sessions lock");
        map.iter()
            .filter(|(_, (_, at))| now < at + IDLE_MS)
            .map(|(k, (a, _))| (k.clone(), a.clone()))
            .collect()
    }
}

/// How long a session is remembered after its last turn.
pub const SESSION_IDLE_MS: u64 = IDLE_MS;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::Message;

    fn req(system: &str, turns: &[&str]) -> Request {
        Request {
            system: vec![system.into()],
            messages: turns
                .iter()
                .enumerate()
                .map(|(i, t)| Message {
                    role: if i % 2 == 0 {
                        Role::User
                    } else {
                        Role::Assistant
                    },
                    parts: vec![Part::Text(t.to_string())],
                })
                .collect(),
            ..Request::default()
        }
    }

    #[test]
    fn keys_stay_the_same_as_the_conversation_grows() {
        let one = session_key(None, &req("sys", &["hi"]));
        let three = session_key(None, &req("sys", &["hi", "hello", "more"]));
        assert_eq!(one, three);
        assert_ne!(one, session_key(None, &req("sys", &["other"])));
        assert_eq!(session_key(Some("abc"), &req("sys", &["hi"])), "client:abc");
    }

    #[test]
    fn a_full_table_makes_room_in_one_sweep() {
        let s = Sessions::default();
        for i in 0..MAX_SESSIONS as u64 {
            s.stick(&format!("s{i}"), "a", 1_000 + i);
        }
        s.stick("new", "b", 1_000 + MAX_SESSIONS as u64);
        let len = s.map.lock().unwrap().len();
        assert!(len <= MAX_SESSIONS * 9 / 10 + 1, "{len}");
        assert_eq!(
            s.get("new", 1_000 + MAX_SESSIONS as u64).as_deref(),
            Some("b")
        );
        assert_eq!(
            s.get("s0", 1_000 + MAX_SESSIONS as u64),
            None,
            "the oldest went"
        );
        let last = format!("s{}", MAX_SESSIONS - 1);
        assert_eq!(
            s.get(&last, 1_000 + MAX_SESSIONS as u64).as_deref(),
            Some("a")
        );
    }
}
