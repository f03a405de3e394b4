//! The files the soak uploads: one tree per account, of mixed sizes, some in nested folders,
//! each with its SHA-1 known before anything is sent.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use super::rng::Rng;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// One file of a tree.
#[derive(Clone, Debug)]
pub struct SoakFile {
    /// Relative to the tree's root: `w1/b/c/f0007-dt.bin`. The first folder is its wave.
    pub rel: String,
    pub name: String,
    pub size: u64,
    pub sha1: String,
}

/// How much to write.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub files_per_account: usize,
    /// Largest file of the ordinary mix.
    pub max_file: u64,
    /// Files of 100–300 MiB per account on top of the mix (`--big`).
    pub huge_files: usize,
}

/// Writes `sizes.files_per_account` files under `root/w0..w{waves-1}` (names unique across
/// every tree thanks to `tag`).
pub fn write_tree(root: &Path, tag: &str, waves: usize, sizes: Sizes, rng: &mut Rng) -> std::io::Result<Vec<SoakFile>> {
    const FOLDERS: [&str; 6] = ["", "", "a", "a/b", "c/d/e", "raw"];
    let mut files = Vec::new();
    let total = sizes.files_per_account + sizes.huge_files;
    for i in 0..total {
        let size = if i >= sizes.files_per_account {
            rng.range(100 * MIB, 300 * MIB)
        } else {
            mixed_size(rng, sizes.max_file)
        };
        let wave = rng.range(0, waves as u64 - 1);
        let folder = rng.pick(&FOLDERS);
        let name = format!("f{i:04}-{tag}.bin");
        let rel = if folder.is_empty() { format!("w{wave}/{name}") } else { format!("w{wave}/{folder}/{name}") };
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().expect("has a folder"))?;
        let sha1 = write_random(&path, size, rng.next_u64())?;
        files.push(SoakFile { rel, name, size, sha1 });
    }
    Ok(files)
}

/// Mostly small files, some of a few parts: 0 B, ≤ 64 KiB, ≤ 1 MiB, ≤ 6 MiB, up to `max`.
fn mixed_size(rng: &mut Rng, max: u64) -> u64 {
    match rng.range(0, 99) {
        0..=3 => 0,
        4..=43 => rng.range(1, 64 * KIB),
        44..=73 => rng.range(64 * KIB, MIB),
        74..=91 => rng.range(MIB, 6 * MIB),
        _ => rng.range(6 * MIB, max.max(6 * MIB)),
    }
}

/// `size` pseudo-random bytes from `seed`; returns their SHA-1 (hex).
fn write_random(path: &Path, size: u64, seed: u64) -> std::io::Result<String> {
    let mut w = std::io::BufWriter::with_capacity(MIB as usize, std::fs::File::create(path)?);
    let mut h = Sha1::new();
    let mut x = seed | 1;
    let mut left = size;
    let mut buf = vec![0u8; MIB as usize];
    while left > 0 {
        let n = (left as usize).min(buf.len());
        for chunk in buf[..n].chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        h.update(&buf[..n]);
        w.write_all(&buf[..n])?;
        left -= n as u64;
    }
    w.flush()?;
    Ok(hex(&h.finalize()))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn sha1_of(path: &Path) -> std::io::Result<String> {
    let mut h = Sha1::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut h)?;
    Ok(hex(&h.finalize()))
}

/// Every regular file below `root`, relative to it with `/` separators.
pub fn walk(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(root) {
                let rel = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
                out.push((rel, p));
            }
        }
    }
    out
}
