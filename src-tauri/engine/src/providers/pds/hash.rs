//! The hashes PDS asks for (shared/providers/pds.md §8): the `pre_hash` probe, and in one
//! pass over the file both the whole-file SHA-1 (`content_hash`) and, for parallel mode,
//! the SHA-1 mid-state before every part (`parallel_sha1_ctx`).
//!
//! A mid-state is the five chaining words after compressing whole 64-byte blocks, so it
//! exists only at offsets that are multiples of 64: hence the 64-byte part sizes.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use sha1::digest::generic_array::GenericArray;
use sha1::{Digest, Sha1};

/// SHA-1's initial chaining value (FIPS 180-4 §5.3.1).
pub const IV: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];

/// Bytes read per step; a multiple of 64.
const READ: usize = 4 << 20;

pub fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `pre_hash`: upper-case hex SHA-1 of the first `min(1024, size)` bytes.
pub fn pre_hash(path: &Path) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(1024);
    std::fs::File::open(path)?.take(1024).read_to_end(&mut head)?;
    Ok(upper_hex(&Sha1::digest(&head)))
}

/// A SHA-1 whose chaining state can be read between whole blocks.
#[derive(Clone)]
pub struct MidState {
    h: [u32; 5],
    /// Bytes compressed so far (always a multiple of 64).
    len: u64,
}

impl Default for MidState {
    fn default() -> Self {
        MidState { h: IV, len: 0 }
    }
}

impl MidState {
    pub fn state(&self) -> [u32; 5] {
        self.h
    }

    /// Compresses `blocks`, whose length must be a multiple of 64.
    pub fn compress(&mut self, blocks: &[u8]) {
        debug_assert!(blocks.len().is_multiple_of(64));
        for block in blocks.chunks_exact(64) {
            sha1::compress(&mut self.h, std::slice::from_ref(GenericArray::from_slice(block)));
        }
        self.len += blocks.len() as u64;
    }

    /// The digest of everything compressed plus `tail` (< 64 bytes… or any length: whole
    /// blocks of it are compressed first), with SHA-1's padding.
    pub fn finish(mut self, tail: &[u8]) -> [u8; 20] {
        let whole = tail.len() - tail.len() % 64;
        self.compress(&tail[..whole]);
        let rest = &tail[whole..];
        let bits = (self.len + rest.len() as u64) * 8;
        let mut pad = rest.to_vec();
        pad.push(0x80);
        while pad.len() % 64 != 56 {
            pad.push(0);
        }
        pad.extend_from_slice(&bits.to_be_bytes());
        self.compress(&pad);
        let mut out = [0u8; 20];
        for (o, w) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// What one pass over a file yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Digests {
    /// Upper-case hex SHA-1 of the whole file.
    pub content_hash: String,
    /// The chaining state before each part (index 0 = part 1 = the IV).
    pub ctx: Vec<[u32; 5]>,
}

#[derive(Debug)]
pub enum HashError {
    Io(std::io::Error),
    /// The reader was told to stop.
    Stopped,
}

/// Reads `size` bytes of `path` once, recording the state at every multiple of `part_size`
/// (which must be a multiple of 64) and finishing with the whole-file SHA-1.
pub fn digests(path: &Path, size: u64, part_size: u64, stop: &AtomicBool) -> Result<Digests, HashError> {
    assert!(part_size > 0 && part_size.is_multiple_of(64), "parallel parts are whole 64-byte blocks");
    let file = std::fs::File::open(path).map_err(HashError::Io)?;
    let mut state = MidState::default();
    let mut ctx = vec![IV];
    let mut buf = vec![0u8; READ];
    let mut at = 0u64;
    while at < size {
        if stop.load(Ordering::Relaxed) {
            return Err(HashError::Stopped);
        }
        if at > 0 && at.is_multiple_of(part_size) {
            ctx.push(state.state());
        }
        let to_boundary = part_size - at % part_size;
        let want = (READ as u64).min(to_boundary).min(size - at) as usize;
        crate::platform::read_exact_at(&file, &mut buf[..want], at).map_err(HashError::Io)?;
        at += want as u64;
        if at == size {
            let digest = state.finish(&buf[..want]);
            return Ok(Digests {
                content_hash: upper_hex(&digest),
                ctx,
            });
        }
        state.compress(&buf[..want]);
    }
    Ok(Digests {
        content_hash: upper_hex(&state.finish(&[])),
        ctx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of shared/providers/pds.md §8c (from the official JS SDK's tests).
    fn doc_file() -> Vec<u8> {
        (0..100).map(|i| format!("test-{i}")).collect::<Vec<_>>().join("\n").into_bytes()
    }

    fn reference_hex(data: &[u8]) -> String {
        upper_hex(&Sha1::digest(data))
    }

    #[test]
    fn mid_state_matches_the_documented_vector() {
        let data = doc_file();
        assert_eq!(data.len(), 789);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        let d = digests(&path, data.len() as u64, 128, &AtomicBool::new(false)).unwrap();
        assert_eq!(d.ctx.len(), 7, "789 bytes in 128-byte parts");
        assert_eq!(d.ctx[0], IV);
        assert_eq!(d.ctx[6], [2781477636, 2167910136, 4107292220, 1153442652, 2872263382], "part 7 (offset 768)");
        assert_eq!(d.content_hash, "392AF61CCA9BC02502B0BB03B45ABD78601DD1DF");
        // Finishing from the part-7 state reproduces the file's hash (§8c).
        let resumed = MidState { h: d.ctx[6], len: 768 }.finish(&data[768..]);
        assert_eq!(upper_hex(&resumed), "392AF61CCA9BC02502B0BB03B45ABD78601DD1DF");
    }

    #[test]
    fn every_mid_state_and_hash_agree_with_a_reference_sha1() {
        let dir = tempfile::tempdir().unwrap();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let data: Vec<u8> = (0..(READ * 2 + 777))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        for size in [0usize, 1, 63, 64, 65, 1024, 1025, 100 * 1024, READ - 1, READ, READ + 64, data.len()] {
            for part in [64u64, 128 * 1024, 1 << 20, 3 << 20, 8 << 20] {
                if part == 64 && size > 100 * 1024 {
                    continue; // a 64-byte part size is tested on small files only
                }
                let d = digests(&path, size as u64, part, &AtomicBool::new(false)).unwrap();
                assert_eq!(d.content_hash, reference_hex(&data[..size]), "{size} B in {part} B parts");
                assert_eq!(d.ctx.len() as u64, (size as u64).div_ceil(part).max(1));
                // Reference states: a fresh MidState advanced part by part.
                let mut m = MidState::default();
                for (i, h) in d.ctx.iter().enumerate() {
                    let start = i * part as usize;
                    assert_eq!(*h, m.state(), "ctx of part {} ({size} B, {part} B parts)", i + 1);
                    if i == 0 || i == d.ctx.len() / 2 || i + 1 == d.ctx.len() {
                        // Finishing from a part's state gives the reference digest of the file.
                        let done = MidState { h: *h, len: start as u64 }.finish(&data[start..size]);
                        assert_eq!(upper_hex(&done), reference_hex(&data[..size]));
                    }
                    let end = (start + part as usize).min(size);
                    if end - start == part as usize {
                        m.compress(&data[start..end]);
                    }
                }
            }
        }
    }

    #[test]
    fn pre_hash_covers_the_first_kibibyte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello world, this is a proof code example file.\n").unwrap();
        assert_eq!(pre_hash(&path).unwrap(), "A8EA29B8F4C10C4CEA7132636CA0D0992171CC19", "§8a worked example");
        let big: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &big).unwrap();
        assert_eq!(pre_hash(&path).unwrap(), reference_hex(&big[..1024]));
        std::fs::write(&path, b"").unwrap();
        assert_eq!(pre_hash(&path).unwrap(), "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709");
    }

    #[test]
    fn a_stop_request_ends_the_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        assert!(matches!(digests(&path, 1000, 64, &AtomicBool::new(true)), Err(HashError::Stopped)));
    }
}
