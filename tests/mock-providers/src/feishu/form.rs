//! Reads the `multipart/form-data` bodies of `upload_all` and `upload_part` (§2, §3, §5).
//!
//! Text fields are kept in memory (small, capped) and reported as they arrive, so the part
//! handler learns the `upload_id` before the block's bytes. The `file` part is streamed to a
//! temp file while its Adler-32 and length are computed. A problem is reported only after the
//! whole body has been read, so the client always gets the envelope, not a reset connection.

use std::collections::HashMap;
use std::path::Path;

use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use tempfile::TempPath;
use tokio::io::{AsyncWriteExt, BufWriter};

use super::adler::Adler32;
use super::envelope::BizError;
use crate::body;

const TEXT_FIELDS: [&str; 8] = [
    "file_name",
    "parent_type",
    "parent_node",
    "size",
    "checksum",
    "extra",
    "upload_id",
    "seq",
];
const FILE_FIELD: &str = "file";
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// The `file` part, on disk. Bytes past the caller's limit are counted (and checksummed)
/// but not kept.
pub(crate) struct FilePart {
    pub temp: TempPath,
    pub size: u64,
    pub adler32: u32,
}

#[derive(Default)]
pub(crate) struct Form {
    fields: HashMap<String, String>,
    pub file: Option<FilePart>,
}

impl Form {
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// A required, non-empty text field.
    pub(crate) fn required(&self, name: &str) -> Result<&str, BizError> {
        self.text(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| BizError::params(format!("{name} is required")))
    }
}

/// Parses the whole body; `file_limit` caps the `file` bytes written to disk; `on_text`
/// hears each text field as soon as it has arrived.
pub(crate) async fn read_form(
    req: Request,
    incoming: &Path,
    file_limit: u64,
    mut on_text: impl FnMut(&str, &str),
) -> Result<Form, BizError> {
    let is_multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        body::drain(req.into_body()).await;
        return Err(BizError::params("content-type must be multipart/form-data"));
    }
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|e| BizError::params(format!("invalid multipart body: {e}")))?;
    let mut form = Form::default();
    let mut first_error: Option<BizError> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(BizError::params(format!("invalid multipart body: {e}"))),
        };
        if first_error.is_some() {
            drain_field(field).await?;
            continue;
        }
        let name = field.name().unwrap_or_default().to_owned();
        let result = if name == FILE_FIELD {
            if form.file.is_some() {
                drain_field(field).await?;
                Err(BizError::params("duplicate form field file"))
            } else {
                receive_file(field, incoming, file_limit)
                    .await
                    .map(|f| form.file = Some(f))
            }
        } else if TEXT_FIELDS.contains(&name.as_str()) {
            match read_text(field, &name).await {
                Ok(value) => {
                    on_text(&name, &value);
                    match form.fields.insert(name.clone(), value) {
                        Some(_) => Err(BizError::params(format!("duplicate form field {name}"))),
                        None => Ok(()),
                    }
                }
                Err(e) => Err(e),
            }
        } else {
            drain_field(field).await
        };
        if let Err(e) = result {
            first_error = Some(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(form),
    }
}

async fn read_text(mut field: Field<'_>, name: &str) -> Result<String, BizError> {
    let mut buf = Vec::new();
    let mut too_long = false;
    while let Some(chunk) = next_chunk(&mut field).await? {
        if buf.len() + chunk.len() > MAX_TEXT_FIELD {
            too_long = true;
        } else {
            buf.extend_from_slice(&chunk);
        }
    }
    if too_long {
        return Err(BizError::params(format!("{name} is too long")));
    }
    String::from_utf8(buf).map_err(|_| BizError::params(format!("{name} is not valid UTF-8")))
}

async fn receive_file(
    mut field: Field<'_>,
    incoming: &Path,
    limit: u64,
) -> Result<FilePart, BizError> {
    let (file, temp) = tempfile::Builder::new()
        .prefix("body-")
        .tempfile_in(incoming)
        .map_err(BizError::internal)?
        .into_parts();
    let mut out = BufWriter::with_capacity(1 << 20, tokio::fs::File::from_std(file));
    let mut size = 0u64;
    let mut adler = Adler32::default();
    let mut write_error = None;
    while let Some(chunk) = next_chunk(&mut field).await? {
        adler.update(&chunk);
        let keep = limit.saturating_sub(size).min(chunk.len() as u64) as usize;
        size += chunk.len() as u64;
        if keep > 0 && write_error.is_none() {
            write_error = out.write_all(&chunk[..keep]).await.err();
        }
    }
    if write_error.is_none() {
        write_error = out.flush().await.err();
    }
    match write_error {
        Some(e) => Err(BizError::internal(e)),
        None => Ok(FilePart {
            temp,
            size,
            adler32: adler.value(),
        }),
    }
}

async fn drain_field(mut field: Field<'_>) -> Result<(), BizError> {
    while next_chunk(&mut field).await?.is_some() {}
    Ok(())
}

async fn next_chunk(field: &mut Field<'_>) -> Result<Option<bytes::Bytes>, BizError> {
    field
        .chunk()
        .await
        .map_err(|e| BizError::params(format!("invalid multipart body: {e}")))
}
