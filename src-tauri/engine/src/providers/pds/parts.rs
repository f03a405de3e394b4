//! Parts: each PUT to its pre-signed URL (shared signed targets, `URL_BATCH` asked at a
//! time), a part the storage already holds read back (§4), and the parts PDS holds listed
//! for a resume (§6).

use std::time::SystemTime;

use serde_json::Value;

use super::api::{PartsPage, UrlAnswer};
use super::session::{Mode, Session};
use super::{urls, Pds, LIST_LIMIT, URL_BATCH};
use crate::error::ErrorKind;
use crate::providers::client::signed::{self, PutError, Target};
use crate::providers::{PartBody, PartReceipt, PartSpec, ProviderError, ProviderResult};

impl Pds {
    /// Sends one part; a part the storage already holds (an earlier answer was lost) is
    /// read back instead.
    pub(super) async fn send_part(&self, s: &Session, part: PartSpec, body: PartBody) -> ProviderResult<PartReceipt> {
        let what = format!("PDS part {} upload", part.number);
        let query = |numbers: Vec<u32>| self.part_targets(s, numbers);
        let judge = |status: u16, text: &str, retry_after| urls::refusal(part.number, status, text, retry_after);
        match signed::put_part(&self.http, &self.urls, &s.upload_id, part, URL_BATCH, &body, query, judge).await {
            Ok(Some(etag)) => Ok(PartReceipt { number: part.number, etag: Some(etag), extra: Value::Null }),
            Ok(None) => Err(ProviderError::temporary(ErrorKind::Server, format!("{what}: the storage answered without an ETag"))),
            Err(PutError::AlreadyThere) => self.stored_part(s, part.number).await,
            Err(e) => Err(e.into_error(&what)),
        }
    }

    /// `get_upload_url` for these part numbers (§5): in parallel mode each with its mid-state again.
    async fn part_targets(&self, s: &Session, numbers: Vec<u32>) -> ProviderResult<Vec<(u32, Target)>> {
        let mut body = s.ids();
        body["part_info_list"] = numbers.iter().map(|&n| s.url_request(n)).collect::<Vec<_>>().into();
        let answer: UrlAnswer = self.api.post("get_upload_url", "/v2/file/get_upload_url", &body).await?;
        Ok(urls::targets(&answer.part_info_list, SystemTime::now()))
    }

    /// One page of `list_uploaded_parts` after `marker`.
    async fn parts_page(&self, s: &Session, marker: Option<&Value>, limit: u32) -> ProviderResult<PartsPage> {
        let mut body = s.ids();
        body["limit"] = limit.into();
        if let Some(m) = marker {
            body["part_number_marker"] = m.clone();
        }
        self.api.post("list_uploaded_parts", "/v2/file/list_uploaded_parts", &body).await
    }

    /// The storage says part `number` is already there (a PUT whose answer was lost): read
    /// it back to get its ETag and check its size (§4).
    async fn stored_part(&self, s: &Session, number: u32) -> ProviderResult<PartReceipt> {
        let before = (number > 1).then(|| Value::from(number - 1));
        let page = self.parts_page(s, before.as_ref(), 1).await?;
        match page.uploaded_parts.into_iter().find(|p| p.part_number == number) {
            Some(p) if p.part_size.is_none_or(|n| n == s.part_len(number)) => Ok(PartReceipt {
                number,
                etag: p.etag,
                extra: Value::Null,
            }),
            _ => Err(ProviderError::temporary(
                ErrorKind::Conflict,
                format!("PDS says part {number} exists but does not list it with its size"),
            )),
        }
    }

    /// Every part PDS holds for this upload, paging `list_uploaded_parts` to its end (§6).
    pub(super) async fn held_parts(&self, s: &Session) -> ProviderResult<Option<Vec<PartReceipt>>> {
        let mut held = Vec::new();
        let mut after: Option<Value> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self.parts_page(s, after.as_ref(), LIST_LIMIT).await?;
            if let Some(p) = page.parallel_upload {
                if p != (s.mode == Mode::Parallel) {
                    tracing::warn!(upload_id = %s.upload_id, "PDS reports parallel_upload={p} for a {:?} session", s.mode);
                }
            }
            for p in &page.uploaded_parts {
                if p.part_number == 0 || p.part_number > s.count() {
                    continue;
                }
                let expected = s.part_len(p.part_number);
                match p.part_size {
                    Some(n) if n != expected && s.mode == Mode::Serial => {
                        // A stored part cannot be replaced in serial mode.
                        return Err(ProviderError::restart(format!(
                            "PDS holds part {} with {n} bytes instead of {expected}: starting the upload over",
                            p.part_number
                        )));
                    }
                    // Parallel mode: a part of the wrong size is simply sent again (§6).
                    Some(n) if n != expected => continue,
                    _ => held.push(PartReceipt {
                        number: p.part_number,
                        etag: p.etag.clone(),
                        extra: Value::Null,
                    }),
                }
            }
            // The listing ends only on an empty marker. One that comes back again would loop:
            // then the listing is incomplete, and an incomplete listing must not turn
            // acknowledged parts back to pending, so the ledger stays the truth.
            match marker(&page.next_part_number_marker) {
                None => break,
                Some(m) if seen.insert(m.to_string()) && seen.len() <= s.count() as usize + 1 => after = Some(m),
                Some(m) => {
                    tracing::warn!(upload_id = %s.upload_id, marker = %m, "PDS repeated a part listing marker; keeping the ledger as it is");
                    return Ok(None);
                }
            }
        }
        tracing::info!(upload_id = %s.upload_id, parts = held.len(), "PDS lists the parts it holds");
        Ok(Some(held))
    }
}

/// The marker to pass back for the next page, `None` on the last page (empty or absent).
/// A number-like string goes back as a JSON number, as the SDKs type the request (§6); any
/// other marker is opaque and goes back exactly as received.
fn marker(v: &Value) -> Option<Value> {
    match v {
        Value::Number(n) => Some(Value::Number(n.clone())),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().parse::<u64>().map(Value::from).unwrap_or_else(|_| v.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markers_go_back_as_received_unless_they_are_part_numbers() {
        assert_eq!(marker(&json!("4")), Some(json!(4)));
        assert_eq!(marker(&json!(7)), Some(json!(7)));
        assert_eq!(marker(&json!("eyJwIjoxMDB9")), Some(json!("eyJwIjoxMDB9")), "opaque: passed back as is");
        assert_eq!(marker(&json!("")), None);
        assert_eq!(marker(&Value::Null), None);
    }
}
