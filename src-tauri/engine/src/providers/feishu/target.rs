//! Where a file goes (shared/providers/feishu.md §8): `parent_type = explorer` is a Drive
//! folder and uses the `files/*` APIs; every other upload point (a docx/sheet/base, an import)
//! uses the `medias/*` APIs, with the `extra` JSON string the upload point needs.

use serde::{Deserialize, Serialize};

/// The API family: same calls, same fields, different path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Files,
    Medias,
}

impl Family {
    pub fn path(self, call: &str) -> String {
        match self {
            Family::Files => format!("/open-apis/drive/v1/files/{call}"),
            Family::Medias => format!("/open-apis/drive/v1/medias/{call}"),
        }
    }
}

/// One file's destination, as sent in `upload_all` / `upload_prepare`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub family: Family,
    pub parent_type: String,
    pub parent_node: String,
    /// The `extra` form/JSON field: a JSON object serialised to text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
}

/// The account's destination settings.
#[derive(Debug, Clone, Default)]
pub struct Destination {
    pub parent_type: String,
    pub parent_node: String,
    /// The document / sheet / base token for `extra.drive_route_token`.
    pub drive_route_token: Option<String>,
}

/// Upload points of the media family whose `extra` routes to the owning document.
const ROUTED: [&str; 6] = ["docx_image", "docx_file", "sheet_image", "sheet_file", "bitable_image", "bitable_file"];
/// Retired legacy-doc upload points: no `extra`.
const LEGACY: [&str; 2] = ["doc_image", "doc_file"];
const IMPORT: &str = "ccm_import_open";
pub const EXPLORER: &str = "explorer";

pub fn known_types() -> Vec<&'static str> {
    let mut all = vec![EXPLORER];
    all.extend(ROUTED);
    all.extend(LEGACY);
    all.push(IMPORT);
    all
}

impl Destination {
    /// This job's destination: `dest` (when given) overrides the account's parent node, and
    /// `TYPE:NODE` overrides the upload-point type too (e.g. `docx_file:doxcnBlockId`).
    pub fn with_dest(&self, dest: &str) -> Destination {
        let dest = dest.trim();
        if dest.is_empty() {
            return self.clone();
        }
        match dest.split_once(':') {
            Some((t, node)) if known_types().contains(&t) => {
                Destination { parent_type: t.to_owned(), parent_node: node.to_owned(), ..self.clone() }
            }
            _ => Destination { parent_node: dest.to_owned(), ..self.clone() },
        }
    }

    /// Resolves the family and `extra` for uploading a file called `file_name`.
    pub fn target(&self, file_name: &str) -> Result<Target, String> {
        let t = self.parent_type.as_str();
        let node = self.parent_node.trim().to_owned();
        let needs_node = |what: &str| {
            if node.is_empty() {
                Err(format!("parent_node must be set to {what} for parent_type {t}"))
            } else {
                Ok(())
            }
        };
        let route = |token: &str| serde_json::json!({ "drive_route_token": token }).to_string();
        let (family, parent_node, extra) = if t == EXPLORER {
            needs_node("a folder token")?;
            (Family::Files, node, None)
        } else if ROUTED.contains(&t) {
            let docx = t.starts_with("docx_");
            needs_node(if docx { "the block id of the image/file block" } else { "the spreadsheet or base token" })?;
            // A sheet's or base's upload point is the document itself; a docx block is not.
            let token = match (self.drive_route_token.as_deref().map(str::trim).filter(|s| !s.is_empty()), docx) {
                (Some(token), _) => token.to_owned(),
                (None, false) => node.clone(),
                (None, true) => return Err(format!("drive_route_token must be set to the document id for parent_type {t}")),
            };
            (Family::Medias, node, Some(route(&token)))
        } else if LEGACY.contains(&t) {
            needs_node("the legacy doc token")?;
            (Family::Medias, node, None)
        } else if t == IMPORT {
            // The upload point is left empty; `extra` says what to import the file as.
            let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
            let obj_type = if matches!(ext.as_str(), "xlsx" | "xls" | "csv") { "sheet" } else { "docx" };
            let extra = serde_json::json!({ "obj_type": obj_type, "file_extension": ext }).to_string();
            (Family::Medias, String::new(), Some(extra))
        } else {
            return Err(format!("parent_type \"{t}\" is not an upload point Ferry knows (one of: {})", known_types().join(", ")));
        };
        Ok(Target { family, parent_type: t.to_owned(), parent_node, extra })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(t: &str, node: &str, route: Option<&str>) -> Destination {
        Destination { parent_type: t.into(), parent_node: node.into(), drive_route_token: route.map(Into::into) }
    }

    fn json(extra: &Option<String>) -> serde_json::Value {
        serde_json::from_str(extra.as_deref().expect("extra is set")).unwrap()
    }

    #[test]
    fn explorer_is_the_files_family_without_extra() {
        let t = dest("explorer", "fldbcO1", None).target("a.pdf").unwrap();
        assert_eq!(t, Target { family: Family::Files, parent_type: "explorer".into(), parent_node: "fldbcO1".into(), extra: None });
        assert_eq!(t.family.path("upload_part"), "/open-apis/drive/v1/files/upload_part");
        assert!(dest("explorer", "", None).target("a").unwrap_err().contains("folder token"));
    }

    #[test]
    fn document_upload_points_route_to_their_document() {
        let t = dest("docx_file", "blk1", Some("doxcnDoc")).target("a.pdf").unwrap();
        assert_eq!(t.family, Family::Medias);
        assert_eq!(t.family.path("upload_all"), "/open-apis/drive/v1/medias/upload_all");
        assert_eq!(t.extra.as_deref(), Some(r#"{"drive_route_token":"doxcnDoc"}"#));
        assert!(dest("docx_image", "blk1", None).target("a.png").unwrap_err().contains("drive_route_token"));
        // A sheet or base is its own route.
        let t = dest("sheet_file", "shtcn1", None).target("a.xlsx").unwrap();
        assert_eq!(t.extra.as_deref(), Some(r#"{"drive_route_token":"shtcn1"}"#));
        let t = dest("bitable_image", "bascn1", None).target("a.png").unwrap();
        assert_eq!((t.parent_node.as_str(), t.extra.as_deref()), ("bascn1", Some(r#"{"drive_route_token":"bascn1"}"#)));
        let t = dest("doc_file", "doccn1", None).target("a").unwrap();
        assert_eq!((t.family, t.extra), (Family::Medias, None));
    }

    #[test]
    fn imports_say_what_to_import_as() {
        let t = dest("ccm_import_open", "ignored", None).target("notes.MD").unwrap();
        assert_eq!(t.parent_node, "");
        assert_eq!(json(&t.extra), serde_json::json!({"obj_type": "docx", "file_extension": "md"}));
        let t = dest("ccm_import_open", "", None).target("q.xlsx").unwrap();
        assert_eq!(json(&t.extra), serde_json::json!({"obj_type": "sheet", "file_extension": "xlsx"}));
    }

    #[test]
    fn unknown_types_are_refused_by_name() {
        let e = dest("moments", "x", None).target("a").unwrap_err();
        assert!(e.contains("moments") && e.contains("docx_file"), "{e}");
    }

    #[test]
    fn a_job_destination_overrides_the_account() {
        let account = dest("explorer", "fldA", Some("doxcnDoc"));
        assert_eq!(account.with_dest("").parent_node, "fldA");
        assert_eq!(account.with_dest("fldB").parent_node, "fldB");
        let d = account.with_dest("docx_file:blk9");
        assert_eq!((d.parent_type.as_str(), d.parent_node.as_str()), ("docx_file", "blk9"));
        assert_eq!(d.target("a").unwrap().extra.as_deref(), Some(r#"{"drive_route_token":"doxcnDoc"}"#));
        // A colon that is not a known type prefix is part of the token.
        assert_eq!(account.with_dest("odd:token").parent_node, "odd:token");
    }
}
