//! `CommitFile` (notes §5) without duplicates. Commit is not documented as idempotent, and
//! whether an uploadKey can be committed twice is unconfirmed, so each key is committed once
//! with the account's strategy. Only a commit that may already have happened (its answer was
//! lost, or DingTalk calls the key spent) is re-sent as `RETURN_DENTRY_IF_EXISTS` (§9.8), and
//! the file returned counts as ours only if its name and size are the job's and it was
//! written after the upload began (by the server's clock).

use serde_json::{json, Value};

use super::Dingtalk;
use crate::error::ErrorKind;
use crate::providers::{Committed, JobSpec, ProviderError, ProviderResult};

/// The account's `conflict` setting (§5 `option.conflictStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conflict {
    AutoRename,
    Overwrite,
    ReturnDentryIfExists,
    ReturnErrorIfExists,
}

impl Conflict {
    pub fn parse(s: &str) -> Option<Conflict> {
        Some(match s {
            "AUTO_RENAME" => Conflict::AutoRename,
            "OVERWRITE" => Conflict::Overwrite,
            "RETURN_DENTRY_IF_EXISTS" => Conflict::ReturnDentryIfExists,
            "RETURN_ERROR_IF_EXISTS" => Conflict::ReturnErrorIfExists,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Conflict::AutoRename => "AUTO_RENAME",
            Conflict::Overwrite => "OVERWRITE",
            Conflict::ReturnDentryIfExists => "RETURN_DENTRY_IF_EXISTS",
            Conflict::ReturnErrorIfExists => "RETURN_ERROR_IF_EXISTS",
        }
    }
}

/// The parts of a `dentry` Ferry uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Dentry {
    pub id: String,
    pub name: String,
    pub size: Option<u64>,
    pub path: Option<String>,
    /// Unix seconds of `createTime` / `modifiedTime`, the later one.
    pub written_at: Option<i64>,
}

impl Dentry {
    pub fn parse(answer: &Value) -> ProviderResult<Dentry> {
        let d = answer
            .get("dentry")
            .filter(|d| d.is_object())
            .ok_or_else(|| {
                ProviderError::temporary(
                    ErrorKind::Server,
                    "DingTalk answered the commit without a dentry",
                )
            })?;
        let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
        let id = text("id").or_else(|| d.get("id").and_then(Value::as_i64).map(|i| i.to_string()));
        let id = id.ok_or_else(|| {
            ProviderError::temporary(
                ErrorKind::Server,
                "DingTalk answered the commit with a dentry without an id",
            )
        })?;
        let times = [text("createTime"), text("modifiedTime")];
        Ok(Dentry {
            id,
            name: text("name").unwrap_or_default(),
            size: d.get("size").and_then(Value::as_u64),
            path: text("path"),
            written_at: times
                .iter()
                .flatten()
                .filter_map(|t| parse_iso8601(t))
                .max(),
        })
    }

    /// Is this the file this upload made? Its name and size are the job's and, when both
    /// times are known, it was written no earlier than the upload began: both are DingTalk's
    /// clock in whole seconds, so ours can only be later; one second of slack covers skew
    /// between its servers.
    fn is_ours(&self, name: &str, size: u64, since: Option<i64>) -> bool {
        let written_after = match (since, self.written_at) {
            (Some(since), Some(at)) => at + 1 >= since,
            _ => true,
        };
        self.name == name && self.size == Some(size) && written_after
    }

    pub fn committed(self) -> Committed {
        Committed {
            id: Some(self.id),
            name: Some(self.name),
            url: None,
            rapid: false,
        }
    }
}

impl Dingtalk {
    /// Commits `key` as `job.name` once, with the account's strategy. Only when that answer
    /// was lost (or DingTalk says the key is spent, as after a commit whose answer died with
    /// the process) is the file looked up with `RETURN_DENTRY_IF_EXISTS`, and what comes back
    /// counts only if it is this upload's file: same name, same size, written since it began.
    pub(super) async fn commit_upload(
        &self,
        key: &str,
        since: Option<i64>,
        job: &JobSpec<'_>,
    ) -> ProviderResult<Committed> {
        let parent = self.parent(job).await?;
        let name = super::remote_name(job.name)?;
        let dentry = if self.answer_lost(key) {
            self.after_lost_answer(key, &name, &parent, since, job.size).await?
        } else if let Some(mine) = self.committed_before_restart(key, &name, &parent, since, job.size).await {
            mine
        } else {
            match self.commit_as(key, &name, &parent, job.size, self.conflict).await {
                Err(e) if e.restart => match self.lookup(key, &name, &parent, since, job.size).await {
                    Some(mine) => mine,
                    None => return Err(e),
                },
                other => other?,
            }
        };
        self.clear_lost(key);
        self.urls.forget_upload(key).await;
        Ok(dentry.committed())
    }

    /// The retry of a commit whose answer was lost.
    async fn after_lost_answer(&self, key: &str, name: &str, parent: &str, since: Option<i64>, size: u64) -> ProviderResult<Dentry> {
        let found = self.commit_as(key, name, parent, size, Conflict::ReturnDentryIfExists).await?;
        if found.is_ours(name, size, since) || self.conflict == Conflict::ReturnDentryIfExists {
            return Ok(found);
        }
        // The name belongs to another file: the lost commit did not store ours under it.
        match self.conflict {
            Conflict::ReturnErrorIfExists => Err(ProviderError::new(
                ErrorKind::Conflict,
                format!("a file named \"{name}\" already exists in the DingTalk folder and the account's conflict setting is RETURN_ERROR_IF_EXISTS: rename the file or change the setting"),
            )),
            Conflict::AutoRename => Err(ProviderError::new(
                ErrorKind::Conflict,
                format!("DingTalk's answer to saving \"{name}\" was lost and the name is taken by another file, so Ferry cannot tell whether it was saved under a new name: look for \"{name}\" with a number added in the DingTalk folder, and resume this job only if it is missing"),
            )),
            other => self.commit_as(key, name, parent, size, other).await,
        }
    }

    /// An upload begun before this provider was built may have been committed by an engine
    /// that was killed (or a provider dropped after an auth refusal) before the answer came:
    /// that leaves no mark here, and DingTalk may take the same uploadKey again (a second,
    /// renamed file). So it is looked up first, as after a lost answer; a name taken by
    /// another file then gets the account's strategy as usual. (Found by the chaos soak.)
    async fn committed_before_restart(&self, key: &str, name: &str, parent: &str, since: Option<i64>, size: u64) -> Option<Dentry> {
        let began = since?;
        if began >= self.built_s {
            return None;
        }
        let mine = self.lookup(key, name, parent, since, size).await;
        if let Some(d) = &mine {
            tracing::info!(dentry = %d.id, "DingTalk had saved \"{name}\" before this engine started: taking that file");
        }
        mine
    }

    /// This upload's file under `name`, if DingTalk already holds it.
    async fn lookup(&self, key: &str, name: &str, parent: &str, since: Option<i64>, size: u64) -> Option<Dentry> {
        let found = self.commit_as(key, name, parent, size, Conflict::ReturnDentryIfExists).await.ok()?;
        found.is_ours(name, size, since).then_some(found)
    }

    /// One `CommitFile` call. An answer that never came (network, 5xx) is remembered, so the
    /// retry knows the commit may have happened.
    async fn commit_as(
        &self,
        key: &str,
        name: &str,
        parent: &str,
        size: u64,
        strategy: Conflict,
    ) -> ProviderResult<Dentry> {
        let body = json!({
            "uploadKey": key,
            "name": name,
            "parentId": parent,
            "option": { "size": size, "conflictStrategy": strategy.as_str() },
        });
        let path = format!("/v1.0/storage/spaces/{}/files/commit", self.space_id);
        match self.api.post("committing the file", &path, &body).await {
            Ok(answer) => Dentry::parse(&answer.body),
            Err(e) => {
                if e.kind == ErrorKind::Network || (e.temporary && e.kind == ErrorKind::Server) {
                    tracing::warn!(strategy = strategy.as_str(), "the commit's answer was lost; its retry will check what DingTalk holds: {}", e.message);
                    self.lost.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned());
                }
                Err(e)
            }
        }
    }

    fn answer_lost(&self, key: &str) -> bool {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).contains(key)
    }

    fn clear_lost(&self, key: &str) {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// `2024-01-01T10:00:00Z`, `2024-01-01T10:00:00.123+08:00`, … → Unix seconds.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    if s.len() < 19
        || s.as_bytes()[4] != b'-'
        || s.as_bytes()[7] != b'-'
        || !matches!(s.as_bytes()[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        tz if tz.len() == 6
            && matches!(tz.as_bytes()[0], b'+' | b'-')
            && tz.as_bytes()[3] == b':' =>
        {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (tz[1..3].parse::<i64>().ok()? * 3600 + tz[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset)
}

/// (year, month, day) → days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("2022-01-01T10:00:00Z"), Some(1_641_031_200));
        assert_eq!(
            parse_iso8601("2022-01-01T18:00:00.250+08:00"),
            Some(1_641_031_200)
        );
        assert_eq!(parse_iso8601("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(parse_iso8601("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn reads_the_documented_dentry() {
        let answer = serde_json::json!({"dentry": {"id": "123456", "uuid": "u", "spaceId": "s", "parentId": "0",
            "type": "FILE", "name": "music.mp3", "extension": "mp3", "size": 734003200, "path": "/music.mp3",
            "version": 1, "status": "NORMAL", "createTime": "2024-01-01T10:00:00Z", "modifiedTime": "2024-01-01T10:00:05Z"}});
        let d = Dentry::parse(&answer).unwrap();
        assert_eq!(
            (d.id.as_str(), d.name.as_str(), d.size),
            ("123456", "music.mp3", Some(734_003_200))
        );
        assert_eq!(d.written_at, parse_iso8601("2024-01-01T10:00:05Z"));
        assert!(Dentry::parse(&serde_json::json!({})).unwrap_err().temporary);
    }

    #[test]
    fn ours_means_same_size_and_written_after_the_upload_began() {
        let d = Dentry {
            id: "1".into(),
            name: "a".into(),
            size: Some(10),
            path: None,
            written_at: Some(1000),
        };
        assert!(d.is_ours("a", 10, Some(1000)));
        assert!(
            d.is_ours("a", 10, Some(1001)),
            "a second of slack between DingTalk's servers"
        );
        assert!(!d.is_ours("a", 10, Some(1002)));
        assert!(
            !d.is_ours("a", 10, Some(1100)),
            "an older file of the same size is not ours"
        );
        assert!(!d.is_ours("a", 11, Some(900)), "another size is not ours");
        assert!(!d.is_ours("a (1)", 10, None), "another name is not ours");
        assert!(d.is_ours("a", 10, None), "without a start time, name and size decide");
    }

    #[test]
    fn conflict_names_round_trip() {
        for s in [
            "AUTO_RENAME",
            "OVERWRITE",
            "RETURN_DENTRY_IF_EXISTS",
            "RETURN_ERROR_IF_EXISTS",
        ] {
            assert_eq!(Conflict::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Conflict::parse("RETURN_ERROR"), None);
    }
}
