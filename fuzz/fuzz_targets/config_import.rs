//! Settings (`key=value` lines, validated and then read as the server reads
//! them) and the Google account import file: never panic, and a setting that
//! validates is read without loss of the others.
#![no_main]

use levity::commands::parse_import;
use levity::config::Settings;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_import(text);
    let mut map = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=')
            && Settings::validate(k, v).is_ok()
        {
            map.insert(k.to_string(), v.to_string());
        }
    }
    let s = Settings::from_map(&map);
    let _ = s.map_model("gpt-4o");
    let _ = s.limits(
        levity::store::ProviderKind::Gemini,
        levity::store::Tier::Free,
    );
});
