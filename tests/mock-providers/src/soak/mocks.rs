//! The four provider mocks of the soak, each mounted under a gateway prefix, and what the
//! soak asks of them: account settings, the chaos they can make (fault rules, expiring
//! tokens, URLs and uploads, a rotated secret) and what they hold at the end.

use std::collections::HashMap;
use std::time::Duration;

use ferry_mock_providers::feishu::{self, DEFAULT_FOLDER};
use ferry_mock_providers::pds::FileStatus;
use ferry_mock_providers::{
    DingtalkConfig, DingtalkMock, FaultAction, FaultRule, FaultRuleStatus, FeishuConfig, FeishuMock, PdsConfig, PdsMock, Trigger,
    XfyunConfig, XfyunMock,
};

use super::rng::Rng;

/// The account names, one per target.
pub const ACCOUNTS: [&str; 5] = ["dt", "fs", "pds", "xfy", "loc"];

/// The smallest slice the iFlytek mock takes is 5 MiB; so is the soak's part size.
pub const PART_SIZE: u64 = 5 << 20;

/// What the faults did.
pub struct Fired {
    pub by_kind: Vec<(String, u64)>,
    /// iFlytek offers no way to look an upload up (xfyun.md §9: "retry the whole request"),
    /// so a one-shot whose answer was lost is sent again, and a `complete` whose answer was
    /// lost answers 10005 when retried and the upload starts over: the first copy stays
    /// behind, referenced by nothing. Kills do the same; the soak allows one copy for each.
    pub xfyun_lost_answers: u64,
}

pub struct Mocks {
    pub dingtalk: DingtalkMock,
    pub feishu: FeishuMock,
    pub pds: PdsMock,
    pub xfyun: XfyunMock,
}

/// A file as a mock (or the local target) holds it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Folders below the account's base folder and the name: `soak/w0/a/f0001-dt.bin`.
    pub path: String,
    /// What the job's result names it by (dentry id, file token, file id, URL, path).
    pub id: String,
    pub size: u64,
    pub sha1: String,
}

impl Mocks {
    pub async fn start() -> std::io::Result<Mocks> {
        let dingtalk = DingtalkMock::start_on(DingtalkConfig { path_prefix: "/gw/dingtalk".into(), ..Default::default() }, 0).await?;
        let feishu = FeishuMock::start_on(FeishuConfig { path_prefix: "/open-apis-gw".into(), ..Default::default() }, 0).await?;
        let pds = PdsMock::start_on(PdsConfig { path_prefix: "/pds/v2".into(), opaque_markers: true, ..Default::default() }, 0).await?;
        // Multipart from 4 MB (instead of 30), and upload ids that are forgotten after two
        // minutes, so an upload resumed late after a kill must start over.
        let xfyun = XfyunMock::start_on(
            XfyunConfig {
                oneshot_max_bytes: 4_000_000,
                upload_ttl: Some(Duration::from_secs(120)),
                path_prefix: "/ost".into(),
                ..Default::default()
            },
            0,
        )
        .await?;
        Ok(Mocks { dingtalk, feishu, pds, xfyun })
    }

    /// `ferry account add NAME --provider P --endpoint E --set …` arguments and the secret
    /// lines for standard input, for each cloud account.
    pub fn account_args(&self) -> Vec<(Vec<String>, String)> {
        let d = self.dingtalk.config();
        let f = self.feishu.config();
        let p = self.pds.config();
        let x = self.xfyun.config();
        let add = |name: &str, provider: &str, endpoint: String, sets: Vec<String>| {
            let mut a: Vec<String> = ["account", "add", name, "--provider", provider, "--endpoint"].map(String::from).into();
            a.push(endpoint);
            for s in sets {
                a.push("--set".into());
                a.push(s);
            }
            a
        };
        vec![
            (
                add("dt", "dingtalk", self.dingtalk.base_url(), vec![format!("app_key={}", d.app_key), format!("union_id={}", d.union_id()), format!("space_id={}", d.space_id)]),
                format!("app_secret={}\n", d.app_secret),
            ),
            (
                add("fs", "feishu", self.feishu.base_url(), vec![format!("app_id={}", f.app_id), format!("parent_node={DEFAULT_FOLDER}")]),
                format!("app_secret={}\n", f.app_secret),
            ),
            (
                add("pds", "pds", self.pds.base_url(), vec![format!("domain_id={}", p.domain_id), format!("drive_id={}", p.drive_id), format!("client_id={}", p.client_id)]),
                format!("client_secret={}\nrefresh_token={}\n", p.client_secret, p.refresh_token),
            ),
            (
                add("xfy", "xfyun", self.xfyun.base_url(), vec![format!("app_id={}", x.app_id), "oneshot_max_bytes=4000000".into()]),
                format!("api_key={}\napi_secret={}\n", x.api_key, x.api_secret),
            ),
        ]
    }

    /// Every secret the accounts were given (the PDS refresh tokens come and go: see
    /// [`Mocks::refresh_tokens`]).
    pub fn secrets(&self) -> Vec<String> {
        vec![
            self.dingtalk.config().app_secret.clone(),
            self.feishu.config().app_secret.clone(),
            self.pds.config().client_secret.clone(),
            self.pds.config().refresh_token.clone(),
            self.xfyun.config().api_secret.clone(),
        ]
    }

    pub fn refresh_tokens(&self) -> Vec<String> {
        self.pds.valid_refresh_tokens()
    }

    /// Turns on every kind of fault at a moderate rate on every mock, each rule with its own
    /// seed drawn from `rng`.
    pub fn chaos_on(&self, rng: &mut Rng) {
        // Each provider's own way of saying "failed, try again" (its notes' retryable codes),
        // where the notes list them: Feishu's 1061045 belongs to the upload calls, not to the
        // token call (the engine takes any code there for refused credentials).
        let business = |code: i64, message: Option<&str>| FaultAction::BusinessError { code, message: message.map(str::to_owned) };
        let anywhere = |action: FaultAction| vec![(None, action)];
        let feishu_uploads = [feishu::FILES_UPLOAD_ALL, feishu::FILES_PREPARE, feishu::FILES_PART, feishu::FILES_FINISH]
            .map(|p| (Some(p.to_owned()), business(1_061_045, None)))
            .into();
        for (faults, own) in [
            (self.dingtalk.faults(), anywhere(business(0, Some("systemError")))),
            (self.feishu.faults(), feishu_uploads),
            (self.pds.faults(), anywhere(business(500, Some("InternalError")))),
            (self.xfyun.faults(), anywhere(business(10_002, None))),
        ] {
            faults.set(chaos_rules(rng, own)).expect("valid chaos rules");
        }
    }

    /// Turns every fault off; returns how often each kind fired, and how many answers the
    /// iFlytek mock lost (see [`Fired::xfyun_lost_answers`]).
    pub fn chaos_off(&self) -> Fired {
        let mut fired: Vec<(String, u64)> = Vec::new();
        let xfyun_lost_answers = self
            .xfyun
            .faults()
            .snapshot()
            .iter()
            .filter(|r| r.rule.action == FaultAction::LoseAnswer)
            .map(|r| r.fired)
            .sum();
        for faults in [self.dingtalk.faults(), self.feishu.faults(), self.pds.faults(), self.xfyun.faults()] {
            for FaultRuleStatus { rule, fired: n, .. } in faults.snapshot() {
                let kind = kind_of(&rule.action).to_owned();
                match fired.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, total)) => *total += n,
                    None => fired.push((kind, n)),
                }
            }
            faults.clear();
        }
        Fired { by_kind: fired, xfyun_lost_answers }
    }

    /// One of the events a long-lived client meets; returns its name.
    pub fn expire_something(&self, rng: &mut Rng) -> &'static str {
        match rng.range(0, 5) {
            0 => {
                self.dingtalk.expire_tokens();
                "token_expiry"
            }
            1 => {
                self.dingtalk.revoke_token();
                "token_revoked"
            }
            2 => {
                self.feishu.expire_tokens();
                "token_expiry"
            }
            3 => {
                self.feishu.expire_uploads();
                "upload_expiry"
            }
            4 => {
                self.pds.expire_access_tokens();
                "token_expiry"
            }
            _ => {
                self.pds.expire_upload_urls();
                "url_expiry"
            }
        }
    }

    /// PDS file records never completed (see [`Mocks::stored`]).
    pub fn pds_unfinished(&self) -> usize {
        self.pds.files().iter().filter(|f| !f.folder && f.status != FileStatus::Available).count()
    }

    /// What each cloud account holds, by account name.
    pub fn stored(&self) -> HashMap<&'static str, Vec<Stored>> {
        let mut out = HashMap::new();

        let folders: HashMap<String, (String, String)> =
            self.dingtalk.folders().into_iter().map(|f| (f.id, (f.parent_id, f.name))).collect();
        let files = self.dingtalk.files().into_iter().map(|f| Stored {
            path: path_in(&folders, &f.parent_id, &f.name),
            id: f.id,
            size: f.size,
            sha1: f.sha1_hex,
        });
        out.insert("dt", files.collect());

        let folders: HashMap<String, (String, String)> =
            self.feishu.folders().into_iter().map(|f| (f.token, (f.parent, f.name))).collect();
        let files = self.feishu.objects().into_iter().map(|o| Stored {
            path: path_in(&folders, &o.placement.parent_node, &o.placement.file_name),
            id: o.file_token,
            size: o.size,
            sha1: o.sha1_hex,
        });
        out.insert("fs", files.collect());

        let all = self.pds.files();
        let folders: HashMap<String, (String, String)> =
            all.iter().filter(|f| f.folder).map(|f| (f.file_id.clone(), (f.parent_file_id.clone(), f.name.clone()))).collect();
        // A record still `uploading` is an upload PDS was never asked to complete (its create
        // answer was lost, or the engine died before keeping the upload id): not a file.
        let files = all.into_iter().filter(|f| !f.folder && f.status == FileStatus::Available).map(|f| Stored {
            path: path_in(&folders, &f.parent_file_id, &f.name),
            id: f.file_id,
            size: f.size,
            sha1: f.sha1,
        });
        out.insert("pds", files.collect());

        let files = self.xfyun.objects().into_iter().map(|o| Stored { path: o.name, id: o.url, size: o.size, sha1: o.sha1_hex });
        out.insert("xfy", files.collect());
        out
    }
}

/// `a/b/name` from a folder map id → (parent, name), up to the first id that is no folder
/// made by the client (the account's base folder).
fn path_in(folders: &HashMap<String, (String, String)>, parent: &str, name: &str) -> String {
    let mut parts = vec![name.to_owned()];
    let mut at = parent;
    while let Some((up, folder)) = folders.get(at) {
        parts.push(folder.clone());
        at = up;
        if parts.len() > 64 {
            break; // a cycle would be a mock bug; the path check then fails visibly
        }
    }
    parts.reverse();
    parts.join("/")
}

/// The rules every mock gets, plus its own business errors (path or anywhere, action).
fn chaos_rules(rng: &mut Rng, business_errors: Vec<(Option<String>, FaultAction)>) -> Vec<FaultRule> {
    let mut on = |path: Option<String>, action: FaultAction, probability: f64| FaultRule {
        path,
        action,
        trigger: Trigger::Random { probability, seed: rng.next_u64(), max_fires: None },
    };
    let mut rules: Vec<FaultRule> = business_errors.into_iter().map(|(path, action)| on(path, action, 0.02)).collect();
    let mut rule = |action: FaultAction, probability: f64| on(None, action, probability);
    rules.extend([
        // Latency and slow bodies first: they add to whatever else happens.
        rule(FaultAction::Delay { ms: 400 }, 0.05),
        // Longer than the answer period the soak gives the engine: the request is given up.
        rule(FaultAction::Delay { ms: 12_000 }, 0.003),
        rule(FaultAction::Bandwidth { bytes_per_sec: 256 << 10 }, 0.03),
        rule(FaultAction::DropMidBody { after_bytes: 0 }, 0.01),
        rule(FaultAction::DropMidBody { after_bytes: 200 << 10 }, 0.015),
        rule(FaultAction::HttpStatus { status: 500 }, 0.01),
        rule(FaultAction::HttpStatus { status: 502 }, 0.01),
        rule(FaultAction::HttpStatus { status: 503 }, 0.01),
        rule(FaultAction::Throttle { retry_after_secs: 1 }, 0.02),
        // A Retry-After no server should send: ignored, the request retried with back-off.
        rule(FaultAction::RawRetryAfter { status: 503, value: "NaN".into() }, 0.005),
        rule(FaultAction::RawRetryAfter { status: 429, value: "-1".into() }, 0.005),
        rule(FaultAction::LoseAnswer, 0.02),
    ]);
    rules
}

fn kind_of(action: &FaultAction) -> &'static str {
    match action {
        FaultAction::DropMidBody { .. } => "drop",
        FaultAction::HttpStatus { .. } => "5xx",
        FaultAction::BusinessError { .. } => "business",
        FaultAction::Throttle { .. } => "429",
        FaultAction::Delay { ms } if *ms >= 10_000 => "silent",
        FaultAction::Delay { .. } => "delay",
        FaultAction::Bandwidth { .. } => "slow_body",
        FaultAction::LoseAnswer => "lost_answer",
        FaultAction::RawRetryAfter { .. } => "odd_retry_after",
        // Fails its job for good (tests/app/hostile.rs): not part of the soak's chaos.
        FaultAction::HugeAnswer { .. } => "huge_answer",
    }
}
