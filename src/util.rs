//! Small helpers every layer uses: hex for ids and sealed values, and the
//! clock in Unix milliseconds with the windows quotas count in.

/// One minute and one day, in milliseconds.
pub const MINUTE: u64 = 60_000;
pub const DAY: u64 = 86_400_000;

/// Now, in Unix milliseconds (0 before 1970, where no clock should be).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Lowercase hex of bytes; used for ids and key hashes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Bytes from lowercase or uppercase hex; `None` on anything else.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
