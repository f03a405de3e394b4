//! What a PDS upload persists between calls (and across crashes), and the account's modes.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::Result;
use crate::providers::{ProviderError, ProviderResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Mode {
    Serial,
    Parallel,
}

/// `check_name_mode` (§3); `overwrite` is emulated as the official JS SDK does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameMode {
    AutoRename,
    Ignore,
    Refuse,
    Overwrite,
}

impl NameMode {
    pub(super) fn parse(s: &str) -> Result<NameMode> {
        Ok(match s {
            "auto_rename" => NameMode::AutoRename,
            "ignore" => NameMode::Ignore,
            "refuse" => NameMode::Refuse,
            "overwrite" => NameMode::Overwrite,
            other => {
                return Err(crate::Error::invalid(
                    "check_name_mode",
                    format!("\"{other}\" is not one of: auto_rename, ignore, refuse, overwrite"),
                ))
            }
        })
    }

    /// What create is sent: overwrite first asks with `refuse` to learn the existing file.
    pub(super) fn wire(self) -> &'static str {
        match self {
            NameMode::AutoRename => "auto_rename",
            NameMode::Ignore => "ignore",
            NameMode::Refuse | NameMode::Overwrite => "refuse",
        }
    }
}

/// What is persisted between calls (and across crashes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Session {
    pub(super) mode: Mode,
    pub(super) drive_id: String,
    pub(super) file_id: String,
    pub(super) upload_id: String,
    #[serde(default)]
    pub(super) file_name: String,
    pub(super) part_size: u64,
    pub(super) size: u64,
    /// Parallel mode: the SHA-1 state before each part (index 0 = part 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) ctx: Vec<[u32; 5]>,
}

impl Session {
    pub(super) fn parse(v: &Value) -> ProviderResult<Session> {
        serde_json::from_value(v.clone()).map_err(|e| ProviderError::restart(format!("unreadable PDS upload session ({e}): starting over")))
    }

    pub(super) fn part_len(&self, number: u32) -> u64 {
        let offset = (number as u64 - 1) * self.part_size;
        self.part_size.min(self.size.saturating_sub(offset))
    }

    pub(super) fn count(&self) -> u32 {
        self.size.div_ceil(self.part_size.max(1)).max(1) as u32
    }

    pub(super) fn ids(&self) -> Value {
        json!({ "drive_id": self.drive_id, "file_id": self.file_id, "upload_id": self.upload_id })
    }

    /// A `part_info_list` entry for `get_upload_url`: the number, and in parallel mode the
    /// mid-state again (§5).
    pub(super) fn url_request(&self, number: u32) -> Value {
        match self.ctx.get(number as usize - 1) {
            Some(h) if self.mode == Mode::Parallel => json!({ "part_number": number, "parallel_sha1_ctx": ctx_json(number, h, self.part_size) }),
            _ => json!({ "part_number": number }),
        }
    }
}

/// `parallel_sha1_ctx`: part 1 sends an empty `h`, as the official JS SDK does (§8c).
pub(super) fn ctx_json(number: u32, h: &[u32; 5], part_size: u64) -> Value {
    let h: &[u32] = if number == 1 { &[] } else { h };
    json!({ "h": h, "part_offset": (number as u64 - 1) * part_size })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::pds::hash;

    #[test]
    fn sessions_round_trip_and_cut_parts_like_the_engine() {
        let s = Session {
            mode: Mode::Parallel,
            drive_id: "1".into(),
            file_id: "f".into(),
            upload_id: "u".into(),
            file_name: "a.bin".into(),
            part_size: 128,
            size: 789,
            ctx: vec![hash::IV; 7],
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["mode"], "parallel");
        let back = Session::parse(&v).unwrap();
        assert_eq!(back.count(), 7);
        let engine = crate::transfer::plan_parts(789, 128);
        for p in &engine {
            assert_eq!(back.part_len(p.number), p.length, "part {}", p.number);
        }
        assert_eq!(back.url_request(1)["parallel_sha1_ctx"], json!({ "h": [], "part_offset": 0 }));
        assert_eq!(back.url_request(3)["parallel_sha1_ctx"]["part_offset"], 256);
        let serial = Session {
            mode: Mode::Serial,
            ctx: vec![],
            ..back
        };
        assert_eq!(serial.url_request(3), json!({ "part_number": 3 }));
        assert!(Session::parse(&json!({"mode": "sideways"})).unwrap_err().restart);
    }
}
