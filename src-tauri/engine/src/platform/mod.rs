//! The platform seam: everything that differs between operating systems lives here, behind
//! the same functions on every OS (`unix.rs` for Linux and macOS, `windows.rs`). The rest
//! of the engine uses only these and std's portable API.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// Where a file lives on its volume: (device, inode) on unix, (volume serial, file index)
/// on Windows. Two names with the same id are the same file (hard links).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub volume: u64,
    pub index: u64,
}

/// The id of the file `path` names (links followed).
pub fn file_id(path: &Path) -> io::Result<FileId> {
    sys::file_id(path)
}

/// The id of an open file.
pub fn file_id_of(file: &File) -> io::Result<FileId> {
    sys::file_id_of(file)
}

/// The per-volume index stored with a job (`inode`): free on unix (it is in `meta`); on
/// Windows it costs opening the file for no access, which sharing never refuses.
pub fn file_index(path: &Path, meta: &Metadata) -> Option<u64> {
    sys::file_index(path, meta)
}

/// [`file_index`] of an open file.
pub fn file_index_of(file: &File, meta: &Metadata) -> Option<u64> {
    sys::file_index_of(file, meta)
}

/// Fills `buf` from `offset` without moving a shared cursor (several readers, one file).
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    sys::read_exact_at(file, buf, offset)
}

/// Writes all of `buf` at `offset` (parts land in any order).
pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    sys::write_all_at(file, buf, offset)
}

/// Modification time in nanoseconds since the Unix epoch (negative before it), saturating
/// instead of overflowing for dates past 2262 or before 1677.
pub fn mtime_ns(meta: &Metadata) -> i64 {
    let Ok(t) = meta.modified() else { return 0 };
    let ns: i128 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// A path as bytes for SQLite. On unix these are the raw bytes (rows written before this
/// seam read back unchanged); on Windows, std's WTF-8 encoding (UTF-8 for every valid name).
pub fn path_bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

/// The inverse of [`path_bytes`]. Never trusts the bytes: on Windows anything that is not
/// WTF-8 becomes U+FFFD rather than undefined behaviour.
pub fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    sys::path_from_bytes(b)
}

/// Moves a file to `to`, never replacing an existing file there: fails with
/// `AlreadyExists` instead. Same volume: atomic (a crash leaves the file under one name, or
/// on unix possibly both, which a retry resolves). Across volumes: copied into a new file
/// (`create_new`), made durable, then the original removed.
pub fn move_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    match sys::rename_no_replace(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // Another volume, or a filesystem without hard links: copy without replacing.
        Err(_) if from.is_file() => copy_then_remove(from, to),
        Err(e) => Err(e),
    }
}

/// [`move_no_replace`] within one folder tree, never copying: for publishing a staged file.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    sys::rename_no_replace(from, to)
}

/// The copy is complete and durable before the original goes: same size as the source
/// (a short copy, e.g. a full disk on a filesystem that lies, keeps the original), its
/// bytes and its name synced.
fn copy_then_remove(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = File::open(from)?;
    let expected = src.metadata()?.len();
    let mut dst = File::create_new(to)?;
    let copied = io::copy(&mut src, &mut dst).and_then(|_| dst.sync_all()).and_then(|_| {
        let got = dst.metadata()?.len();
        if got == expected {
            Ok(())
        } else {
            Err(io::Error::other(format!("the copy at {} has {got} of {expected} bytes: the original is kept", to.display())))
        }
    });
    if let Err(e) = copied {
        drop(dst);
        let _ = std::fs::remove_file(to); // our own partial copy
        return Err(e);
    }
    if let Some(dir) = to.parent() {
        sync_dir(dir)?;
    }
    std::fs::remove_file(from)
}

/// Resolves when the user or the system asks this process to stop: Ctrl-C everywhere, and
/// SIGTERM on unix (what `kill` and service managers send), Ctrl-Break / close on Windows.
pub async fn stop_requested() {
    sys::stop_requested().await
}

/// Makes a folder's entries (a new name, a removed one) durable where the OS allows it.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    sys::sync_dir(dir)
}

/// True when the error says another program holds the file open without sharing it
/// (Windows' sharing and lock violations; never on unix, where opens do not exclude).
pub fn in_use(e: &io::Error) -> bool {
    sys::in_use(e)
}

/// True when another program holds `path` open without letting others read it (Windows);
/// a watched folder treats such a file as not stable yet. Never on unix, and free there.
pub fn held_by_another_program(path: &Path) -> bool {
    cfg!(windows) && File::open(path).is_err_and(|e| in_use(&e))
}

/// Why `name` cannot be a file name on this OS, or `None`. Windows refuses the characters
/// `\ / : * ? " < > |`, control characters, a trailing dot or space, and device names.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name == "." || name == ".." {
        return Some("is not a file name".into());
    }
    if name.contains(['/', '\0']) {
        return Some("contains \"/\"".into());
    }
    if cfg!(windows) { windows_name_problem(name) } else { None }
}

/// The Windows rules, checked on every OS in tests.
fn windows_name_problem(name: &str) -> Option<String> {
    const BAD: &[char] = &['\\', '/', ':', '*', '?', '"', '<', '>', '|'];
    if let Some(c) = name.chars().find(|c| BAD.contains(c)) {
        return Some(format!("contains \"{c}\", which Windows does not allow in file names (\\ / : * ? \" < > |)"));
    }
    if name.chars().any(|c| (c as u32) < 32) {
        return Some("contains a control character, which Windows does not allow in file names".into());
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Some("ends with a dot or a space, which Windows drops from file names".into());
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end().to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4 && (stem.starts_with("COM") || stem.starts_with("LPT")) && stem.as_bytes()[3].is_ascii_digit() && stem.as_bytes()[3] != b'0');
    if device {
        return Some(format!("is the name of a Windows device ({stem})"));
    }
    None
}

/// Replaces this process with `program` (arguments `args`, `args[0]` as its argv[0]): on
/// unix an `exec`, so the PID, the argv a process list shows and the environment stay the
/// same; on Windows, which has no exec, the program runs as a child and this process exits
/// with its code. Returns only on failure.
pub fn exec(program: &Path, args: &[std::ffi::OsString]) -> io::Error {
    sys::exec(program, args)
}

/// The folder for per-user application data: XDG_DATA_HOME on Linux, Application Support on
/// macOS, %APPDATA% on Windows (what Tauri's `app_data_dir()` uses too).
pub fn app_data_root() -> PathBuf {
    dirs::data_dir().unwrap_or_else(std::env::temp_dir)
}

/// Decodes WTF-8 (UTF-8 that may also encode lone surrogates, std's Windows encoding) to
/// UTF-16; anything malformed becomes U+FFFD.
#[cfg_attr(not(windows), allow(dead_code))]
fn wtf8_to_wide(b: &[u8]) -> Vec<u16> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let lead = b[i];
        let (len, min, init) = match lead {
            0x00..=0x7F => (1, 0, lead as u32),
            0xC2..=0xDF => (2, 0x80, (lead & 0x1F) as u32),
            0xE0..=0xEF => (3, 0x800, (lead & 0x0F) as u32),
            0xF0..=0xF4 => (4, 0x10000, (lead & 0x07) as u32),
            _ => (0, 0, 0),
        };
        let tail = b.get(i + 1..i + len.max(1)).filter(|t| len > 0 && t.iter().all(|c| c & 0xC0 == 0x80));
        let cp = tail.map(|t| t.iter().fold(init, |acc, c| (acc << 6) | (c & 0x3F) as u32)).filter(|&cp| cp >= min && cp <= 0x10FFFF);
        match cp {
            Some(cp) => {
                if cp >= 0x10000 {
                    let v = cp - 0x10000;
                    out.push(0xD800 | (v >> 10) as u16);
                    out.push(0xDC00 | (v & 0x3FF) as u16);
                } else {
                    out.push(cp as u16); // includes lone surrogates, which WTF-8 carries
                }
                i += len;
            }
            None => {
                out.push(0xFFFD);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names_are_refused_with_the_reason() {
        for bad in ["a:b.txt", "a*b", "what?.txt", "a\"b", "<x>", "a|b", "back\\slash", "CON", "con.txt", "LPT1.log", "trail.", "trail ", "tab\there"] {
            assert!(windows_name_problem(bad).is_some(), "{bad}");
        }
        for good in ["photo.jpg", "CONSOLE.txt", "COM0", "a (1).txt", "中文.pdf", ".hidden"] {
            assert_eq!(windows_name_problem(good), None, "{good}");
        }
        assert!(windows_name_problem("a:b").unwrap().contains("\":\""));
    }

    #[test]
    fn mtime_saturates_far_in_the_future_and_the_past() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let f = File::create(&p).unwrap();
        let far = UNIX_EPOCH + std::time::Duration::from_secs(400 * 365 * 86_400); // year ~2370
        f.set_modified(far).unwrap();
        assert_eq!(mtime_ns(&std::fs::metadata(&p).unwrap()), i64::MAX);
        let before = UNIX_EPOCH - std::time::Duration::from_millis(1_500);
        f.set_modified(before).unwrap();
        assert_eq!(mtime_ns(&std::fs::metadata(&p).unwrap()), -1_500_000_000);
    }

    #[test]
    fn wtf8_round_trips_utf8_and_lone_surrogates() {
        let s = "caf\u{e9} \u{1F600}.txt";
        assert_eq!(wtf8_to_wide(s.as_bytes()), s.encode_utf16().collect::<Vec<_>>());
        // A lone high surrogate U+D800, as WTF-8 encodes it.
        assert_eq!(wtf8_to_wide(b"a\xED\xA0\x80b"), [0x61, 0xD800, 0x62]);
        // Not WTF-8 at all: replaced, never trusted.
        assert_eq!(wtf8_to_wide(b"a\xFFb\xC3"), [0x61, 0xFFFD, 0x62, 0xFFFD]);
    }

    #[test]
    fn moving_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"ours").unwrap();
        std::fs::write(&b, b"theirs").unwrap();
        assert_eq!(move_no_replace(&a, &b).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&b).unwrap(), b"theirs");
        let c = dir.path().join("c");
        move_no_replace(&a, &c).unwrap();
        assert_eq!(std::fs::read(&c).unwrap(), b"ours");
        assert!(!a.exists());
        // The copy path (another volume) refuses to replace too, and removes the original.
        std::fs::write(&a, b"again").unwrap();
        assert_eq!(copy_then_remove(&a, &b).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert!(a.exists());
        copy_then_remove(&a, &dir.path().join("d")).unwrap();
        assert!(!a.exists());
        assert_eq!(std::fs::read(dir.path().join("d")).unwrap(), b"again");
    }

    /// A real move to another filesystem (tmpfs under /dev/shm, where there is one) goes
    /// through the copy: the bytes arrive whole, the original goes, nothing is replaced.
    #[cfg(target_os = "linux")]
    #[test]
    fn moving_to_another_filesystem_copies_then_removes() {
        let Ok(other) = tempfile::tempdir_in("/dev/shm") else { return };
        let here = tempfile::tempdir().unwrap();
        let same_device = |a: &Path, b: &Path| file_id(a).unwrap().volume == file_id(b).unwrap().volume;
        if same_device(here.path(), other.path()) {
            return; // /tmp is tmpfs here too: nothing crosses a filesystem
        }
        let a = here.path().join("a.bin");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&a, &data).unwrap();
        std::fs::write(other.path().join("taken.bin"), b"theirs").unwrap();
        assert_eq!(move_no_replace(&a, &other.path().join("taken.bin")).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert!(a.exists(), "a refused move keeps the original");
        move_no_replace(&a, &other.path().join("a.bin")).unwrap();
        assert_eq!(std::fs::read(other.path().join("a.bin")).unwrap(), data);
        assert!(!a.exists());
        assert_eq!(std::fs::read(other.path().join("taken.bin")).unwrap(), b"theirs");
    }

    #[test]
    fn file_ids_see_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
        std::fs::write(&a, b"x").unwrap();
        std::fs::hard_link(&a, &b).unwrap();
        std::fs::write(&c, b"x").unwrap();
        assert_eq!(file_id(&a).unwrap(), file_id(&b).unwrap());
        assert_ne!(file_id(&a).unwrap(), file_id(&c).unwrap());
        assert_eq!(file_id_of(&File::open(&a).unwrap()).unwrap(), file_id(&a).unwrap());
        let meta = std::fs::metadata(&a).unwrap();
        assert_eq!(file_index(&a, &meta), Some(file_id(&a).unwrap().index));
    }

    #[test]
    fn positional_reads_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let f = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&p).unwrap();
        write_all_at(&f, b"world", 6).unwrap();
        write_all_at(&f, b"hello ", 0).unwrap();
        let mut buf = [0u8; 5];
        read_exact_at(&f, &mut buf, 6).unwrap();
        assert_eq!(&buf, b"world");
        assert_eq!(read_exact_at(&f, &mut buf, 8).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(path_from_bytes(path_bytes(&p).to_vec()), p);
    }
}
