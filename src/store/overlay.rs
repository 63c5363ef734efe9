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

/// redb asserts (panics, which aborts a release build) when its header
/// declares another page size or more bytes than the file holds, as in a
/// file cut short; such files are told apart here first. The fields are
/// redb's file format 3 header, little-endian after the 9-byte magic number.
pub(super) fn header_fits(file: &mut File) -> Result<(), String> {
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut h = [0u8; 32];
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_exact(&mut h))
        .map_err(|_| format!("{len} bytes, too short for a header"))?;
    let u32_at = |at: usize| {
        u64::from(u32::from_le_bytes(
            h[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    let (page, header_pages, data_pages, full, trailing) =
        (u32_at(12), u32_at(16), u32_at(20), u32_at(24), u32_at(28));
    if page != 4096 {
        return Err(format!("its header names a page size of {page} bytes"));
    }
    let declared = page
        + full * (header_pages + data_pages) * page
        + if trailing > 0 {
            (header_pages + trailing) * page
        } else {
            0
        };
    if declared > len {
        return Err(format!("cut short: {len} of {declared} bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::StorageBackend;

    /// The header reading follows redb: a real file declares its own length.
    #[test]
    fn header_of_a_real_file_fits_and_a_cut_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        const T: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("t");
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        for i in 0..300u64 {
            tx.open_table(T)
                .unwrap()
                .insert(i, [7u8; 10_000].as_slice())
                .unwrap();
        }
        tx.commit().unwrap();
        drop(db);
        let mut f = File::options().read(true).write(true).open(&path).unwrap();
        assert_eq!(header_fits(&mut f), Ok(()));
        let len = f.metadata().unwrap().len();
        f.set_len(len - 4096).unwrap();
        assert!(header_fits(&mut f).unwrap_err().contains("cut short"));
    }

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
