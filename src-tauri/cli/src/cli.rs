//! The headless `ferry` command line. Its names, flags, output fields and exit codes are
//! a contract scripts rely on: extend, never rename.
//!
//! Exit codes: 0 success; 1 the command's target failed; 2 usage error.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use ferry_engine::accounts::{Account, AccountInput, ProviderKind};
use ferry_engine::creds::Secret;
use ferry_engine::queue::{JobState, Transition};
use ferry_engine::proxy;
use ferry_engine::transfer::{Engine, EngineLock, EngineSettings, JobProgress, ProgressSink};
use ferry_engine::watch::{AfterUpload, WatchInput, WatchService};
use ferry_engine::{Error, Ferry};

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

#[derive(Parser)]
// A word that names a command is that command; anything else opens the window with those
// files (`ferry FILE...`, a file manager's "Open with"). `./queue` queues a file named queue.
#[command(name = "ferry", version, about = "Resumable uploads to DingTalk, Feishu/Lark, Alibaba Cloud PDS and iFlytek")]
pub struct Cli {
    /// Where Ferry keeps its database and logs (env FERRY_DATA_DIR; default: the platform's app-data dir)
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Start the window hidden in the tray (how Ferry starts at login)
    #[arg(long)]
    pub hidden: bool,
    /// Files or folders to queue in the window, to the account last used (a running window
    /// gets them and comes to the front)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// With no command, Ferry opens its window.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Manage provider accounts
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Queue files (a folder: its files, recursively); prints one job id per line. Does not wait.
    Upload {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[arg(long, value_name = "NAME")]
        account: String,
        /// Destination folder within the account
        #[arg(long, value_name = "DEST")]
        to: Option<String>,
        /// One JSON object per job
        #[arg(long)]
        json: bool,
    },
    /// Run the engine: work the queue until interrupted
    Run {
        /// Exit when no job is queued or running (0 if every job ended done, 1 if any failed)
        #[arg(long)]
        until_idle: bool,
    },
    /// Show the queue: one line (or JSON object) per job
    Queue {
        #[arg(long)]
        json: bool,
    },
    /// Pause jobs (acknowledged parts are kept)
    Pause(JobSelection),
    /// Resume paused (or failed) jobs
    Resume(JobSelection),
    /// Cancel jobs (aborts the provider's upload session)
    Cancel(JobSelection),
    /// Settings: concurrency, bandwidth, part size, retries; autostart (start at login) and
    /// start_hidden
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Watched folders: new or changed files are uploaded once they stop changing
    Watch {
        #[command(subcommand)]
        command: WatchCommand,
    },
    /// Ferry's database (ferry.db in the data dir)
    Database {
        #[command(subcommand)]
        command: DatabaseCommand,
    },
    /// List one level of an account's folder: folders first, then files, by name
    /// (name, kind, id, size, modified; tab-separated, or one JSON object per line)
    Ls {
        account: String,
        /// A folder path below the account's base folder [default: the base folder]
        #[arg(value_name = "PATH")]
        path: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Make a folder path below the account's base folder (each missing level); prints its id
    Mkdir {
        account: String,
        #[arg(value_name = "PATH")]
        path: String,
    },
}

#[derive(Subcommand)]
pub enum DatabaseCommand {
    /// Move a damaged ferry.db aside (renamed, kept for recovery) so Ferry starts with a fresh one; prints its new path
    MoveAside,
}

#[derive(Subcommand)]
pub enum WatchCommand {
    /// Watch a folder; prints the watch id
    Add {
        dir: PathBuf,
        #[arg(long, value_name = "NAME")]
        account: String,
        /// Destination folder within the account
        #[arg(long, value_name = "DEST")]
        to: Option<String>,
        /// Only files matching (name, or path with a /); repeatable
        #[arg(long, value_name = "GLOB")]
        include: Vec<String>,
        /// Never files matching; repeatable
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// After a confirmed upload: keep, delete or move:DIR
        #[arg(long, value_name = "ACTION", default_value = "keep")]
        after: String,
        /// Seconds a file must stay unchanged before it is uploaded [default: the quiet_secs
        /// setting of `ferry config`, 3 unless changed]
        #[arg(long, value_name = "N")]
        quiet_secs: Option<u32>,
        /// Only the folder itself, not its sub-folders
        #[arg(long)]
        no_recursive: bool,
    },
    /// List watches with their status
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop watching (files already queued stay queued)
    Remove { id: i64 },
    /// Pause a watch
    Pause { id: i64 },
    /// Resume a watch (it catches up on what changed meanwhile)
    Resume { id: i64 },
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct JobSelection {
    #[arg(value_name = "JOB")]
    jobs: Vec<i64>,
    /// Every job this applies to
    #[arg(long)]
    all: bool,
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print every setting as KEY=VALUE
    List,
    /// Print one setting
    Get { key: String },
    /// Change one setting (a running engine picks it up within a second); `proxy` takes
    /// system, none or a URL (http://, https://, socks5://; user:password@ go to the keyring)
    Set { key: String, value: String },
}

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Add an account; secret settings are read from standard input as KEY=VALUE lines
    Add {
        name: String,
        /// local, xfyun, dingtalk, feishu or pds
        #[arg(long, value_name = "KIND")]
        provider: String,
        /// Override the provider's API base URL (private deployments, tests)
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// A non-secret setting
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// Change an account's settings; secret settings given on standard input as KEY=VALUE
    /// lines replace the stored ones (left out: kept)
    Edit {
        name: String,
        /// A new API base URL
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// A non-secret setting to change
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// List accounts
    List {
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Remove an account and its keyring entries
    Remove { name: String },
    /// Check that an account is usable (gets a token / checks the settings)
    Test { name: String },
}

/// A failure with the exit code it maps to.
struct Failure {
    code: i32,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure { code: if e.is_usage() { EXIT_USAGE } else { EXIT_FAILED }, message: e.to_string() }
    }
}

/// A path as a shell reads it back: quoted only when needed.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure { code: EXIT_USAGE, message: message.into() }
}

pub fn run(command: Command, data_dir: &Path) -> i32 {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    if let Command::Database { command: DatabaseCommand::MoveAside } = command {
        // Before opening: the database may be the very thing that cannot be opened.
        return match ferry_engine::store::move_aside(data_dir) {
            Ok(to) => {
                println!("{}", to.display());
                eprintln!("ferry: moved the database aside to {}; the next start begins with a fresh one", to.display());
                EXIT_OK
            }
            Err(e) => {
                eprintln!("ferry: {e}");
                EXIT_FAILED
            }
        };
    }
    let opened = Ferry::open(data_dir).map_err(|e| match e {
        Error::DatabaseUnusable { .. } => Failure {
            code: EXIT_FAILED,
            message: format!(
                "{e}\nferry: to start fresh, move it aside (the old file is kept): ferry --data-dir {} database move-aside",
                shell_quote(&data_dir.display().to_string())
            ),
        },
        other => Failure::from(other),
    });
    let result = opened.and_then(|ferry| match command {
        Command::Account { command } => runtime.block_on(account(&ferry, command)),
        Command::Upload { paths, account, to, json } => upload(&ferry, &paths, &account, to.as_deref().unwrap_or(""), json),
        Command::Run { until_idle } => runtime.block_on(run_engine(&ferry, until_idle)),
        Command::Queue { json } => queue(&ferry, json),
        Command::Pause(sel) => control(&ferry, sel, Control::Pause, &runtime),
        Command::Resume(sel) => control(&ferry, sel, Control::Resume, &runtime),
        Command::Cancel(sel) => control(&ferry, sel, Control::Cancel, &runtime),
        Command::Config { command } => config(&ferry, command, data_dir),
        Command::Watch { command } => watch(&ferry, command),
        Command::Database { .. } => unreachable!("handled before opening the database"),
        Command::Ls { account, path, json } => runtime.block_on(ls(&ferry, &account, path.as_deref().unwrap_or(""), json)),
        Command::Mkdir { account, path } => runtime.block_on(mkdir(&ferry, &account, &path)),
    });
    match result {
        Ok(()) => EXIT_OK,
        Err(f) => {
            eprintln!("ferry: {}", f.message);
            f.code
        }
    }
}

async fn account(ferry: &Ferry, command: AccountCommand) -> Result<(), Failure> {
    match command {
        AccountCommand::Add { name, provider, endpoint, settings } => {
            let kind = ProviderKind::parse(&provider).ok_or_else(|| {
                usage(format!("unknown provider \"{provider}\" (expected one of: local, xfyun, dingtalk, feishu, pds)"))
            })?;
            let settings = settings.iter().map(|kv| split_kv(kv).ok_or_else(|| usage(format!("--set {kv}: expected KEY=VALUE"))))
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            let needs_secrets = kind.spec().settings.iter().any(|s| s.secret);
            let secrets = if needs_secrets { read_secrets(kind, false)? } else { BTreeMap::new() };
            let account = ferry.accounts.add(AccountInput { name, provider: kind, endpoint, settings, secrets })?;
            println!("added account \"{}\" ({})", account.name, account.provider.as_str());
            Ok(())
        }
        AccountCommand::Edit { name, endpoint, settings } => {
            let old = ferry.accounts.get(&name)?;
            let mut merged = old.settings.clone();
            for kv in &settings {
                let (k, v) = split_kv(kv).ok_or_else(|| usage(format!("--set {kv}: expected KEY=VALUE")))?;
                merged.insert(k, v);
            }
            let needs_secrets = old.provider.spec().settings.iter().any(|s| s.secret);
            let secrets = if needs_secrets { read_secrets(old.provider, true)? } else { BTreeMap::new() };
            let input = AccountInput { name: name.clone(), provider: old.provider, endpoint: endpoint.or(old.endpoint), settings: merged, secrets };
            let account = ferry.accounts.update(&name, input)?;
            println!("updated account \"{}\"", account.name);
            Ok(())
        }
        AccountCommand::List { json } => {
            let accounts = ferry.accounts.list()?;
            let mut out = std::io::stdout().lock();
            for a in &accounts {
                let line = if json { serde_json::to_string(a).expect("accounts serialise") } else { account_line(a) };
                let _ = writeln!(out, "{line}");
            }
            Ok(())
        }
        AccountCommand::Remove { name } => {
            ferry.accounts.remove(&name)?;
            println!("removed account \"{name}\"");
            Ok(())
        }
        AccountCommand::Test { name } => {
            let account = ferry.accounts.get(&name)?;
            let message = ferry_engine::check::check_account(ferry, &account).await?;
            println!("{message}");
            Ok(())
        }
    }
}

/// A destination for an account whose provider has no folders is refused, not dropped.
fn check_dest(account: &Account, dest: &str) -> Result<(), Failure> {
    if !account.provider.has_folders() && !dest.trim_matches('/').is_empty() {
        return Err(usage(format!("--to {dest}: {}", ferry_engine::browse::no_folders(account))));
    }
    Ok(())
}

async fn ls(ferry: &Ferry, account: &str, path: &str, json: bool) -> Result<(), Failure> {
    let account = ferry.accounts.get(account)?;
    let browser = ferry_engine::browse::Browser::new(ferry, &account)?;
    let id = browser.find(path).await?;
    let mut out = std::io::stdout().lock();
    for e in browser.list_all(&id).await? {
        let line = if json {
            serde_json::to_string(&e).expect("serialises")
        } else {
            let kind = serde_json::to_value(e.kind).expect("serialises");
            format!(
                "{}\t{}\t{}\t{}\t{}",
                e.name,
                kind.as_str().unwrap_or_default(),
                e.id,
                e.size.map_or("-".into(), |s| s.to_string()),
                e.modified.as_deref().unwrap_or("-")
            )
        };
        let _ = writeln!(out, "{line}");
    }
    Ok(())
}

async fn mkdir(ferry: &Ferry, account: &str, path: &str) -> Result<(), Failure> {
    let account = ferry.accounts.get(account)?;
    let browser = ferry_engine::browse::Browser::new(ferry, &account)?;
    println!("{}", browser.make_path(path).await?);
    Ok(())
}

fn upload(ferry: &Ferry, paths: &[PathBuf], account: &str, dest: &str, json: bool) -> Result<(), Failure> {
    let account = ferry.accounts.get(account)?;
    check_dest(&account, dest)?;
    let report = ferry_engine::enqueue::enqueue_paths(ferry, &account, paths, dest)?;
    // Buffered: a folder of 100,000 files is 100,000 lines, one write each when line-buffered.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for job in &report.queued {
        let line = if json { serde_json::to_string(job).expect("serialises") } else { job.id.to_string() };
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);
    for note in &report.notes {
        eprintln!("ferry: note: {note}");
    }
    for r in &report.rejected {
        eprintln!("ferry: not queued: {}", r.error);
    }
    if report.rejected.is_empty() {
        Ok(())
    } else {
        Err(Failure { code: EXIT_FAILED, message: format!("{} path(s) could not be queued", report.rejected.len()) })
    }
}

/// Prints each job as it ends.
struct Announce;
impl ProgressSink for Announce {
    fn emit(&self, updates: Vec<JobProgress>) {
        for u in updates.iter().filter(|u| matches!(u.state, JobState::Done | JobState::Failed)) {
            println!("job {} {}", u.job, u.state.as_str());
        }
    }

    /// The problem itself reaches stderr through the log (a warning); its end is said here.
    fn health(&self, problem: Option<ferry_engine::transfer::EngineProblem>) {
        if problem.is_none() {
            eprintln!("ferry: the engine's problem cleared; carrying on");
        }
    }
}

async fn run_engine(ferry: &Ferry, until_idle: bool) -> Result<(), Failure> {
    // The lock first: watched folders are served only by the process that holds it, so a
    // `ferry run` beside a working window neither watches nor rewrites watch statuses.
    let lock = EngineLock::acquire(ferry.data_dir())?;
    let engine = Engine::new(ferry, std::sync::Arc::new(Announce))?;
    let waker = engine.clone();
    let watches = WatchService::new(ferry, std::sync::Arc::new(move || waker.wake()));
    if until_idle {
        // Catch up on the watched folders once, then work the queue until it is empty.
        let queued = watches.catch_up_once().await?;
        if queued > 0 {
            eprintln!("ferry: {queued} file(s) queued from watched folders");
        }
        let report = engine.run_locked(&lock, true).await;
        watches.after_uploads()?;
        return finish_run(report?);
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let watching = tokio::spawn(watches.run(stop.clone()));
    let stopper = engine.clone();
    tokio::spawn(async move {
        ferry_engine::platform::stop_requested().await;
        stopper.shutdown();
    });
    let report = engine.run_locked(&lock, false).await;
    stop.cancel();
    let _ = watching.await;
    finish_run(report?)
}

fn finish_run(report: ferry_engine::transfer::RunReport) -> Result<(), Failure> {
    if report.failed.is_empty() {
        Ok(())
    } else {
        let ids: Vec<String> = report.failed.iter().map(i64::to_string).collect();
        Err(Failure { code: EXIT_FAILED, message: format!("job(s) failed: {} (see `ferry queue`)", ids.join(", ")) })
    }
}

fn queue(ferry: &Ferry, json: bool) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    for j in ferry.queue.list()? {
        let line = if json {
            serde_json::to_string(&j).expect("serialises")
        } else {
            let result = j.result.as_ref().map(|r| r.summary()).filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into());
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}/{}\t{}\t{}\t{}",
                j.id,
                j.state.as_str(),
                j.file,
                j.size,
                j.bytes_acked,
                j.parts_done,
                j.parts_total,
                j.attempts,
                j.error.as_deref().unwrap_or("-"),
                result
            )
        };
        let _ = writeln!(out, "{line}");
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Control {
    Pause,
    Resume,
    Cancel,
}

fn control(ferry: &Ferry, sel: JobSelection, what: Control, runtime: &tokio::runtime::Runtime) -> Result<(), Failure> {
    let (transition, verb) = match what {
        Control::Pause => (Transition::Pause, "paused"),
        Control::Resume => (Transition::Resume, "resumed"),
        Control::Cancel => (Transition::Cancel, "cancelled"),
    };
    let ids = if sel.all { ferry.queue.ids_in(transition.from())? } else { sel.jobs };
    let mut failed = 0;
    for id in ids {
        let r = match what {
            Control::Pause => ferry.queue.pause(id),
            Control::Resume => runtime.block_on(ferry.resume_job(id)),
            Control::Cancel => runtime.block_on(ferry.cancel_job(id)),
        };
        match r {
            Ok(()) => println!("{id} {verb}"),
            Err(e @ Error::UnknownJob(_)) => return Err(e.into()),
            Err(e) => {
                eprintln!("ferry: {e}");
                failed += 1;
            }
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure { code: EXIT_FAILED, message: format!("{failed} job(s) could not be {verb}") })
    }
}

/// The settings of the desktop (start at login), kept in the autostart entry, not in SQLite.
const DESKTOP_KEYS: [&str; 2] = ["autostart", "start_hidden"];

fn desktop_get(key: &str) -> Option<String> {
    let now = crate::autostart::read();
    match key {
        "autostart" => Some(now.enabled.to_string()),
        "start_hidden" => Some(now.hidden.to_string()),
        _ => None,
    }
}

fn desktop_set(key: &str, value: &str, data_dir: &Path) -> Result<(), Failure> {
    let on = match value.trim() {
        "true" | "on" | "1" => true,
        "false" | "off" | "0" => false,
        _ => return Err(usage(format!("{key}: expected true or false, not \"{value}\""))),
    };
    let mut want = crate::autostart::read();
    match key {
        "autostart" => want.enabled = on,
        _ => want.hidden = on,
    }
    // "Start hidden" alone only matters once autostart is on: remember it in the entry then.
    if key == "start_hidden" && !want.enabled {
        return Err(usage("start_hidden applies to the autostart entry: turn autostart on first"));
    }
    crate::autostart::write(want, data_dir).map_err(|e| Failure {
        code: EXIT_FAILED,
        message: format!("cannot change the autostart entry {}: {e}", crate::autostart::entry_path().map(|p| p.display().to_string()).unwrap_or_default()),
    })
}

fn config(ferry: &Ferry, command: ConfigCommand, data_dir: &Path) -> Result<(), Failure> {
    let settings = EngineSettings::load(&ferry.queue)?;
    match command {
        ConfigCommand::List => {
            for key in EngineSettings::keys() {
                println!("{key}={}", settings.get(key).unwrap_or_default());
            }
            for key in DESKTOP_KEYS {
                println!("{key}={}", desktop_get(key).unwrap_or_default());
            }
            println!("{}={}", proxy::KEY, ferry.proxy.view()?.proxy);
        }
        // The proxy URL is shown without its credentials (they are only in the keyring).
        ConfigCommand::Get { key } if key == proxy::KEY => println!("{}", ferry.proxy.view()?.proxy),
        ConfigCommand::Set { key, value } if key == proxy::KEY => {
            let saved = ferry.proxy.set(&value)?;
            println!("{}={}", proxy::KEY, saved.proxy);
            if saved.has_credentials {
                eprintln!("the proxy's user name and password are saved in the system keyring");
            }
        }
        ConfigCommand::Get { key } if DESKTOP_KEYS.contains(&key.as_str()) => println!("{}", desktop_get(&key).unwrap_or_default()),
        ConfigCommand::Set { key, value } if DESKTOP_KEYS.contains(&key.as_str()) => {
            desktop_set(&key, &value, data_dir)?;
            println!("{key}={}", desktop_get(&key).unwrap_or_default());
        }
        ConfigCommand::Get { key } => match settings.get(&key) {
            Some(v) => println!("{v}"),
            None => return Err(usage(format!("unknown setting \"{key}\" (known: {})", EngineSettings::keys().chain(DESKTOP_KEYS).chain([proxy::KEY]).collect::<Vec<_>>().join(", ")))),
        },
        ConfigCommand::Set { key, value } => {
            EngineSettings::set(&ferry.queue, &key, &value)?;
            println!("{key}={}", value.trim());
        }
    }
    Ok(())
}

fn watch(ferry: &Ferry, command: WatchCommand) -> Result<(), Failure> {
    match command {
        WatchCommand::Add { dir, account, to, include, exclude, after, quiet_secs, no_recursive } => {
            let after = AfterUpload::parse(&after).ok_or_else(|| usage(format!("--after {after}: expected keep, delete or move:DIR")))?;
            let dir = std::path::absolute(&dir).unwrap_or(dir);
            check_dest(&ferry.accounts.get(&account)?, to.as_deref().unwrap_or(""))?;
            let input = WatchInput {
                dir,
                account,
                dest: to.unwrap_or_default(),
                include,
                exclude,
                after,
                quiet_secs: match quiet_secs {
                    Some(secs) => secs,
                    None => ferry_engine::transfer::EngineSettings::load(&ferry.queue)?.quiet_secs,
                },
                recursive: !no_recursive,
            };
            let w = ferry.watches.add(&ferry.accounts, input)?;
            println!("{}", w.id);
        }
        WatchCommand::List { json } => {
            for w in ferry.watches.list()? {
                if json {
                    println!("{}", serde_json::to_string(&w).expect("serialises"));
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{} pending\t{} queued\t{}",
                        w.id,
                        if w.enabled { w.status.as_str() } else { "paused" },
                        w.dir,
                        w.account,
                        if w.dest.is_empty() { "-" } else { &w.dest },
                        w.after.as_string(),
                        w.pending,
                        w.queued,
                        w.detail.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        WatchCommand::Remove { id } => {
            ferry.watches.remove(id)?;
            println!("{id} removed");
        }
        WatchCommand::Pause { id } => {
            ferry.watches.set_enabled(id, false)?;
            println!("{id} paused");
        }
        WatchCommand::Resume { id } => {
            ferry.watches.set_enabled(id, true)?;
            println!("{id} resumed");
        }
    }
    Ok(())
}

fn account_line(a: &Account) -> String {
    let settings: Vec<String> = a.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let secrets = if a.secret_keys.is_empty() { String::new() } else { format!("  secrets in keyring: {}", a.secret_keys.join(",")) };
    format!(
        "{}\t{}\t{}\t{}{}",
        a.name,
        a.provider.as_str(),
        a.endpoint.as_deref().unwrap_or("-"),
        settings.join(" "),
        secrets
    )
}

fn split_kv(kv: &str) -> Option<(String, String)> {
    let (k, v) = kv.split_once('=')?;
    (!k.trim().is_empty()).then(|| (k.trim().to_owned(), v.to_owned()))
}

/// Secrets come on stdin, so they never appear in argv or shell history: at a terminal,
/// asked one by one without echo; otherwise as KEY=VALUE lines, and a line that is not
/// KEY=VALUE is reported by number only (it may hold a secret). `editing`: an empty answer
/// keeps the stored value.
fn read_secrets(kind: ProviderKind, editing: bool) -> Result<BTreeMap<String, Secret>, Failure> {
    let stdin = std::io::stdin();
    let mut secrets = BTreeMap::new();
    if stdin.is_terminal() {
        let keep = if editing { " (Enter keeps the stored value)" } else { "" };
        for s in kind.spec().settings.into_iter().filter(|s| s.secret) {
            let value = rpassword::prompt_password(format!("{}{keep}: ", s.key))
                .map_err(|e| usage(format!("cannot read {} from the terminal: {e}", s.key)))?;
            if !value.is_empty() {
                secrets.insert(s.key, Secret::new(value));
            }
        }
        return Ok(secrets);
    }
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| usage(format!("cannot read secrets from standard input: {e}")))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (k, v) = split_kv(line).ok_or_else(|| usage(format!("standard input line {}: expected KEY=VALUE", i + 1)))?;
        secrets.insert(k, Secret::new(v));
    }
    Ok(secrets)
}
