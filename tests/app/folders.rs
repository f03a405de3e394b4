//! Destination folders and the folder browser (issue #13, items 2 and 3): a dropped folder of
//! three levels arrives with its structure on every provider that has folders, each remote
//! folder made once; `ferry ls` / `ferry mkdir`; iFlytek refuses or flattens; and the engine
//! calls behind the window's Browse dialog (the same `Browser` its IPC commands use) on all four.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ferry_engine::browse::Browser;
use ferry_engine::providers::EntryKind;
use ferry_mock_providers::feishu::DEFAULT_FOLDER;
use ferry_mock_providers::{DingtalkConfig, DingtalkMock, FeishuConfig, FeishuMock, PdsConfig, PdsMock, XfyunConfig};

use super::support::*;

/// A mock on its own runtime (dropped with it).
struct On<M> {
    mock: M,
    _rt: tokio::runtime::Runtime,
}

fn start<M>(f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = M>>>) -> On<M> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mock = rt.block_on(f());
    On { mock, _rt: rt }
}

/// `album/` with three levels and a few files of different sizes: relative path → SHA-1.
fn album(dir: &Path) -> BTreeMap<String, String> {
    let files = [
        ("album/cover.bin", 0u64),
        ("album/readme.bin", 1),
        ("album/2024/a.bin", 70_000),
        ("album/2024/q4/b.bin", 3_000),
        ("album/2024/q4/c.bin", 150_000),
        ("album/2025/d.bin", 17),
    ];
    files
        .iter()
        .enumerate()
        .map(|(i, (rel, size))| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            (rel.to_string(), write_random(&p, *size, 1000 + i as u64))
        })
        .collect()
}

/// The folders of `album` (each must be made exactly once).
const ALBUM_FOLDERS: usize = 4;

/// Queues `album/` for `account` and runs the engine until idle; every job must end done.
fn drop_album(s: &Sandbox, account: &str) -> BTreeMap<String, String> {
    let src = s.dir.path().join("src");
    let local = album(&src);
    let ids = s.upload(&[&src.join("album")], account);
    assert_eq!(ids.len(), local.len());
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "ferry run failed: {}\n{}", run.stderr(), s.jobs().values().map(|j| j.to_string()).collect::<Vec<_>>().join("\n"));
    for id in ids {
        assert_eq!(s.job(id)["state"], "done");
    }
    local
}

/// Names from a parent-linked list of folders: id → path below `root`.
fn paths_of(root: &str, folders: &[(String, String, String)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(root.to_owned(), String::new());
    loop {
        let before = out.len();
        for (id, parent, name) in folders {
            if let Some(p) = out.get(parent).cloned() {
                out.entry(id.clone()).or_insert(if p.is_empty() { name.clone() } else { format!("{p}/{name}") });
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

fn assert_same_names(folders: &[(String, String, String)]) {
    let mut seen = BTreeSet::new();
    for (_, parent, name) in folders {
        assert!(seen.insert((parent, name)), "the folder \"{name}\" was made twice in {parent}: {folders:?}");
    }
}

// ---- accounts ---------------------------------------------------------------------------

fn add(s: &Sandbox, args: &[&str], secrets: &str) {
    s.run(args, secrets).ok();
}

fn add_dingtalk(s: &Sandbox, name: &str, m: &DingtalkMock) {
    let c = m.config();
    let base = m.base_url();
    let sets = [format!("app_key={}", c.app_key), format!("union_id={}", c.union_id()), format!("space_id={}", c.space_id)];
    add(
        s,
        &["account", "add", name, "--provider", "dingtalk", "--endpoint", &base, "--set", &sets[0], "--set", &sets[1], "--set", &sets[2]],
        &format!("app_secret={}\n", c.app_secret),
    );
}

fn add_feishu(s: &Sandbox, name: &str, m: &FeishuMock) {
    let c = m.config();
    let base = m.base_url();
    let app = format!("app_id={}", c.app_id);
    let node = format!("parent_node={DEFAULT_FOLDER}");
    add(s, &["account", "add", name, "--provider", "feishu", "--endpoint", &base, "--set", &app, "--set", &node], &format!("app_secret={}\n", c.app_secret));
}

fn add_pds(s: &Sandbox, name: &str, m: &PdsMock) {
    let c = m.config();
    let base = m.base_url();
    let sets = [format!("domain_id={}", c.domain_id), format!("drive_id={}", c.drive_id), format!("client_id={}", c.client_id)];
    add(
        s,
        &["account", "add", name, "--provider", "pds", "--endpoint", &base, "--set", &sets[0], "--set", &sets[1], "--set", &sets[2]],
        &format!("client_secret={}\nrefresh_token={}\n", c.client_secret, c.refresh_token),
    );
}

// Each mock sits below a gateway-style path prefix: the folder calls (GETs with a query
// included) must keep the endpoint's path like every other call.
fn dingtalk() -> On<DingtalkMock> {
    start(|| Box::pin(DingtalkMock::start(DingtalkConfig { path_prefix: "/gw/dingtalk".into(), ..DingtalkConfig::default() })))
}

fn feishu() -> On<FeishuMock> {
    start(|| Box::pin(FeishuMock::start(FeishuConfig { path_prefix: "/gw/feishu".into(), ..FeishuConfig::default() })))
}

fn pds() -> On<PdsMock> {
    // One refresh-token family per mock; tests share one keyring.
    start(|| Box::pin(PdsMock::start(PdsConfig { refresh_token: unique("rt"), path_prefix: "/gw/pds".into(), ..PdsConfig::default() })))
}

// ---- remote trees ----------------------------------------------------------------------

fn dingtalk_tree(m: &DingtalkMock) -> (BTreeMap<String, String>, Vec<(String, String, String)>) {
    let folders: Vec<_> = m.folders().into_iter().map(|f| (f.id, f.parent_id, f.name)).collect();
    let at = paths_of("0", &folders);
    let files = m.files().into_iter().map(|f| (format!("{}/{}", at[&f.parent_id], f.name).trim_start_matches('/').to_owned(), f.sha1_hex)).collect();
    (files, folders)
}

fn feishu_tree(m: &FeishuMock) -> (BTreeMap<String, String>, Vec<(String, String, String)>) {
    let folders: Vec<_> = m.folders().into_iter().map(|f| (f.token, f.parent, f.name)).collect();
    let at = paths_of(DEFAULT_FOLDER, &folders);
    let files = m
        .objects()
        .into_iter()
        .map(|o| (format!("{}/{}", at[&o.placement.parent_node], o.placement.file_name).trim_start_matches('/').to_owned(), o.sha1_hex))
        .collect();
    (files, folders)
}

fn pds_tree(m: &PdsMock) -> (BTreeMap<String, String>, Vec<(String, String, String)>) {
    let all = m.files();
    let folders: Vec<_> = all.iter().filter(|f| f.folder).map(|f| (f.file_id.clone(), f.parent_file_id.clone(), f.name.clone())).collect();
    let at = paths_of("root", &folders);
    let files = all
        .iter()
        .filter(|f| !f.folder)
        .map(|f| (format!("{}/{}", at[&f.parent_file_id], f.name).trim_start_matches('/').to_owned(), f.sha1.clone()))
        .collect();
    (files, folders)
}

fn local_tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(".ferry") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().display().to_string(), sha1_of(&p));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

// ---- a dropped folder keeps its structure ------------------------------------------------

#[test]
fn a_dropped_folder_keeps_its_structure_on_dingtalk_each_folder_made_once() {
    let s = Sandbox::new();
    let dt = dingtalk();
    add_dingtalk(&s, "dt", &dt.mock);
    let local = drop_album(&s, "dt");
    let (remote, folders) = dingtalk_tree(&dt.mock);
    assert_eq!(remote, local, "the remote tree is the local tree, byte-exact");
    assert_same_names(&folders);
    assert_eq!(folders.len(), ALBUM_FOLDERS);
    assert_eq!(dt.mock.folder_calls(), ALBUM_FOLDERS as u64, "one AddFolder per folder, however many files go there");
}

#[test]
fn a_dropped_folder_keeps_its_structure_on_feishu_each_folder_made_once_and_never_two_at_a_time() {
    let s = Sandbox::new();
    let fs = feishu();
    add_feishu(&s, "fs", &fs.mock);
    let local = drop_album(&s, "fs");
    let (remote, folders) = feishu_tree(&fs.mock);
    assert_eq!(remote, local, "the remote tree is the local tree, byte-exact");
    assert_same_names(&folders);
    assert_eq!(fs.mock.folders_created(), ALBUM_FOLDERS as u64);
    assert_eq!(fs.mock.concurrent_folder_calls(), 0, "create_folder never overlaps another");
    let st = fs.mock.stats();
    let creates = st.requests_by_endpoint.get(ferry_mock_providers::feishu::CREATE_FOLDER).copied().unwrap_or(0);
    assert_eq!(creates, ALBUM_FOLDERS as u64, "one create_folder call per folder: {st:?}");
}

#[test]
fn a_dropped_folder_keeps_its_structure_on_pds_each_folder_made_once() {
    let s = Sandbox::new();
    let p = pds();
    add_pds(&s, "pds", &p.mock);
    let local = drop_album(&s, "pds");
    let (remote, folders) = pds_tree(&p.mock);
    assert_eq!(remote, local, "the remote tree is the local tree, byte-exact");
    assert_same_names(&folders);
    assert_eq!(p.mock.stats().folder_creates, ALBUM_FOLDERS as u64, "one folder create per folder");
}

#[test]
fn a_dropped_folder_keeps_its_structure_on_local() {
    let s = Sandbox::new();
    let root = s.dir.path().join("remote");
    std::fs::create_dir_all(&root).unwrap();
    s.add_local("disk", &root);
    let local = drop_album(&s, "disk");
    assert_eq!(local_tree(&root), local);
}

#[test]
fn iflytek_refuses_a_destination_and_uploads_a_dropped_folder_flat_with_a_note() {
    let s = Sandbox::new();
    let x = Xfyun::start(XfyunConfig::default());
    s.add_xfyun("voice", &x.mock, &[]);
    let src = s.dir.path().join("src");
    let local = album(&src);
    let f = src.join("album/2025/d.bin");
    let refused = s.run(&["upload", f.to_str().unwrap(), "--account", "voice", "--to", "reports/2026"], "");
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    assert!(refused.stderr().contains("--to reports/2026") && refused.stderr().contains("has no folders"), "{}", refused.stderr());
    let flat = s.run(&["upload", src.join("album").to_str().unwrap(), "--account", "voice", "--json"], "").ok();
    assert!(flat.stderr().contains("without their folders"), "{}", flat.stderr());
    let queued: Vec<serde_json::Value> = flat.stdout().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(queued.len(), local.len());
    assert!(queued.iter().all(|j| j["dest"] == ""), "{queued:?}");
    assert_eq!(s.run(&["ls", "voice"], "").code(), 2);
}

// ---- ferry ls / ferry mkdir --------------------------------------------------------------

/// mkdir -p, ls of the base and of a path, a bad path (exit 1 naming it), an unknown account
/// (exit 2).
fn ls_and_mkdir(s: &Sandbox, account: &str) {
    let made = s.run(&["mkdir", account, "reports/2026/q4"], "").ok();
    let q4 = made.stdout().trim().to_owned();
    assert!(!q4.is_empty());
    let again = s.run(&["mkdir", account, "reports/2026/q4"], "").ok();
    assert_eq!(again.stdout().trim(), q4, "mkdir of an existing path answers the same folder");
    s.run(&["mkdir", account, "reports/2025"], "").ok();

    let top = s.run(&["ls", account, "--json"], "").ok();
    let top: Vec<serde_json::Value> = top.stdout().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(top.iter().any(|e| e["name"] == "reports" && e["kind"] == "folder"), "{top:?}");

    let level = s.run(&["ls", account, "reports"], "").ok();
    let names: Vec<String> = level.stdout().lines().map(|l| l.split('\t').take(2).collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(names, ["2025 folder", "2026 folder"], "folders by name");
    let deep = s.run(&["ls", account, "reports/2026"], "").ok();
    let out = deep.stdout();
    let fields: Vec<&str> = out.lines().next().unwrap_or_default().split('\t').collect();
    assert_eq!(&fields[..3], ["q4", "folder", q4.as_str()], "name, kind, id: {}", deep.stdout());

    let bad = s.run(&["ls", account, "reports/nope"], "");
    assert_eq!(bad.code(), 1, "{}", bad.stderr());
    assert!(bad.stderr().contains("\"nope\""), "{}", bad.stderr());
    let ghost = s.run(&["ls", "ghost-account"], "");
    assert_eq!(ghost.code(), 2);
    assert!(ghost.stderr().contains("ghost-account"), "{}", ghost.stderr());
    let ghost = s.run(&["mkdir", "ghost-account", "x"], "");
    assert_eq!(ghost.code(), 2);
}

#[test]
fn ls_and_mkdir_on_dingtalk() {
    let s = Sandbox::new();
    let dt = dingtalk();
    add_dingtalk(&s, "dt", &dt.mock);
    ls_and_mkdir(&s, "dt");
    assert_same_names(&dingtalk_tree(&dt.mock).1);
}

#[test]
fn ls_and_mkdir_on_feishu() {
    let s = Sandbox::new();
    let fs = feishu();
    add_feishu(&s, "fs", &fs.mock);
    ls_and_mkdir(&s, "fs");
    assert_same_names(&feishu_tree(&fs.mock).1);
    assert_eq!(fs.mock.folders_created(), 4, "reports, 2026, q4, 2025: the second mkdir found them");
}

#[test]
fn ls_and_mkdir_on_pds() {
    let s = Sandbox::new();
    let p = pds();
    add_pds(&s, "pds", &p.mock);
    ls_and_mkdir(&s, "pds");
    assert_same_names(&pds_tree(&p.mock).1);
}

#[test]
fn ls_and_mkdir_on_local() {
    let s = Sandbox::new();
    let root = s.dir.path().join("remote");
    std::fs::create_dir_all(&root).unwrap();
    s.add_local("disk", &root);
    ls_and_mkdir(&s, "disk");
    assert!(root.join("reports/2026/q4").is_dir());
}

// ---- the Browse dialog's engine calls ----------------------------------------------------

/// What the window's Browse dialog does through IPC: start at the base folder, make a folder,
/// list (folders first, by name), go in, pick. Then an upload to the picked path lands there.
fn browse(s: &Sandbox, account: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ferry = ferry_engine::Ferry::open(s.data_dir()).unwrap();
    let acc = ferry.accounts.get(account).unwrap();
    let b = Browser::new(&ferry, &acc).unwrap();
    let roots = b.roots();
    rt.block_on(async {
        let made = b.make_in(&roots.base, "picked").await.unwrap();
        assert_eq!(made.kind, EntryKind::Folder);
        let inner = b.make_in(&made.id, "inner").await.unwrap();
        b.make_in(&roots.base, "another").await.unwrap();
        let listing = b.list(&roots.base, None).await.unwrap();
        let names: Vec<&str> = listing.entries.iter().filter(|e| e.kind == EntryKind::Folder).map(|e| e.name.as_str()).collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "by name: {names:?}");
        assert!(names.contains(&"picked") && names.contains(&"another"), "{names:?}");
        let picked = listing.entries.iter().find(|e| e.name == "picked").unwrap();
        assert_eq!(picked.id, made.id, "the id behind the name");
        let inside = b.list(&picked.id, None).await.unwrap();
        assert_eq!(inside.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), [inner.id.clone()]);
        assert!(b.make_in(&roots.base, "a/b").await.is_err(), "one level, no slashes");
    });
    drop(ferry);
    // The dialog gives back the path "picked/inner"; the queue's upload lands in that folder.
    let f = s.dir.path().join("one.bin");
    let sha = write_random(&f, 2048, 77);
    let out = s.run(&["upload", f.to_str().unwrap(), "--account", account, "--to", "picked/inner"], "").ok();
    assert_eq!(out.stdout().lines().count(), 1);
    assert_eq!(s.run_until_idle().code(), 0);
    sha
}

#[test]
fn the_browse_calls_work_on_every_provider_with_folders() {
    let s = Sandbox::new();
    let dt = dingtalk();
    let fs = feishu();
    let p = pds();
    let root = s.dir.path().join("remote");
    std::fs::create_dir_all(&root).unwrap();
    add_dingtalk(&s, "dt", &dt.mock);
    add_feishu(&s, "fs", &fs.mock);
    add_pds(&s, "pds", &p.mock);
    s.add_local("disk", &root);

    let sha = browse(&s, "dt");
    assert_eq!(dingtalk_tree(&dt.mock).0.get("picked/inner/one.bin"), Some(&sha));
    let sha = browse(&s, "fs");
    assert_eq!(feishu_tree(&fs.mock).0.get("picked/inner/one.bin"), Some(&sha));
    let sha = browse(&s, "pds");
    assert_eq!(pds_tree(&p.mock).0.get("picked/inner/one.bin"), Some(&sha));
    let sha = browse(&s, "disk");
    assert_eq!(local_tree(&root).get("picked/inner/one.bin"), Some(&sha));
}

#[test]
fn a_recursive_watched_folder_keeps_its_structure_on_dingtalk() {
    let s = Sandbox::new();
    let dt = dingtalk();
    add_dingtalk(&s, "dt", &dt.mock);
    let src = s.dir.path().join("src");
    let local = album(&src);
    s.run(&["watch", "add", src.join("album").to_str().unwrap(), "--account", "dt", "--to", "inbox", "--quiet-secs", "1"], "").ok();
    let run = s.run_until_idle();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let want: BTreeMap<String, String> = local.into_iter().map(|(k, v)| (k.replacen("album/", "inbox/", 1), v)).collect();
    let (remote, folders) = dingtalk_tree(&dt.mock);
    assert_eq!(remote, want, "the watched tree below the destination, byte-exact");
    assert_same_names(&folders);
    assert_eq!(dt.mock.folder_calls(), ALBUM_FOLDERS as u64, "inbox, inbox/2024, inbox/2024/q4, inbox/2025: one AddFolder each");
}
