//! A redb storage backend over the data file that never writes to it: reads
//! come from the file, writes land in memory. Opening a redb `Database`
//! writes its header even before the first transaction (and repairs an
//! unclean file in place), so `Store::open` checks a file through this
//! backend first and touches the real file only once the check passed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Mutex;

/// Bytes per block held in memory once written.
const BLOCK: u64 = 4096;

#[derive(Debug)]
pub(super) struct Overlay {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    file: File,
    /// The file's bytes visible below this offset; above it, zeros (after a
    /// shrink and regrow, as `set_len` requires).
    visible: u64,
    len: u64,
    blocks: HashMap<u64, Vec<u8>>,
}

impl Overlay {
    pub fn new(file: File) -> io::Result<Overlay> {
        let len = file.metadata()?.len();
        Ok(Overlay {
            state: Mutex::new(State {
                file,
                visible: len,
                len,
                blocks: HashMap::new(),
            }),
        })
    }
}

impl State {
    /// Block `n` as the database sees it now.
    fn block(&mut self, n: u64) -> io::Result<Vec<u8>> {
        if let Some(b) = self.blocks.get(&n) {
            return Ok(b.clone());
        }
        let mut buf = vec![0u8; BLOCK as usize];
        let start = n * BLOCK;
        if start < self.visible {
            let take = (self.visible - start).min(BLOCK) as usize;
            self.file.seek(SeekFrom::Start(start))?;
            self.file.read_exact(&mut buf[..take])?;
        }
        Ok(buf)
    }

    /// Copies between the overlay and `buf` at `offset`, block by block.
    fn span(
        &mut self,
        offset: u64,
        len: usize,
        mut each: impl FnMut(&mut Vec<u8>, std::ops::Range<usize>, std::ops::Range<usize>) -> bool,
    ) -> io::Result<()> {
        let mut done = 0usize;
        while done < len {
            let at = offset + done as u64;
            let n = at / BLOCK;
            let inner = (at % BLOCK) as usize;
            let take = (BLOCK as usize - inner).min(len - done);
            let mut block = self.block(n)?;
            if each(&mut block, inner..inner + take, done..done + take) {
                self.blocks.insert(n, block);
            }
            done += take;
        }
        Ok(())
    }
}

fn lock(o: &Overlay) -> std::sync::MutexGuard<'_, State> {
    o.state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl redb::StorageBackend for Overlay {
    fn len(&self) -> io::Result<u64> {
        Ok(lock(self).len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let mut st = lock(self);
        if offset + out.len() as u64 > st.len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        st.span(offset, out.len(), |block, inner, outer| {
            out[outer].copy_from_slice(&block[inner]);
            false
        })
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut st = lock(self);
        if len < st.len {
            // What lies beyond the new end reads as zeros if it grows again.
            let last = len / BLOCK;
            let mut tail = st.block(last)?;
            tail[(len % BLOCK) as usize..].fill(0);
            st.blocks.retain(|n, _| *n < last);
            st.blocks.insert(last, tail);
            st.visible = st.visible.min(len);
        }
        st.len = len;
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut st = lock(self);
        st.len = st.len.max(offset + data.len() as u64);
        st.span(offset, data.len(), |block, inner, outer| {
            block[inner].copy_from_slice(&data[outer]);
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::StorageBackend;

    #[test]
    fn writes_stay_in_memory_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let original: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &original).unwrap();
        let o = Overlay::new(File::open(&path).unwrap()).unwrap();
        o.write(4090, b"abcdefghij").unwrap();
        let mut buf = [0u8; 12];
        o.read(4089, &mut buf).unwrap();
        assert_eq!(
            &buf,
            &[
                original[4089],
                b'a',
                b'b',
                b'c',
                b'd',
                b'e',
                b'f',
                b'g',
                b'h',
                b'i',
                b'j',
                original[4100]
            ]
        );
        o.set_len(5000).unwrap();
        o.set_len(20_000).unwrap();
        let mut buf = [1u8; 8];
        o.read(4998, &mut buf).unwrap();
        assert_eq!(buf, [original[4998], original[4999], 0, 0, 0, 0, 0, 0]);
        o.write(19_990, b"end").unwrap();
        assert_eq!(o.len().unwrap(), 20_000);
        assert!(o.read(19_999, &mut [0u8; 2]).is_err(), "past the end");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            original,
            "the file is untouched"
        );
    }
}
