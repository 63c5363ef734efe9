//! The schema cleaner on any JSON: never panics, and what it returns is
//! stable (cleaning a cleaned schema changes nothing).
#![no_main]

use levity::protocol::gemini::clean_schema;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let once = clean_schema(&schema);
    let twice = clean_schema(&once);
    assert_eq!(once, twice, "cleaning is not idempotent for {schema}");
});
