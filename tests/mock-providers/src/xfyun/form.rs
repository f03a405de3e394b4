//! Reads the `multipart/form-data` bodies of `/file/upload` and `/file/mpupload/upload`.
//!
//! Text fields are kept in memory (small, capped); the `data` file part is streamed to a temp
//! file. A request-level problem is remembered and reported only after the whole body has been
//! read, so the client always gets the envelope instead of a reset connection.

use std::collections::HashMap;
use std::path::Path;

use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use tempfile::TempPath;
use tokio::io::{AsyncWriteExt, BufWriter};

use super::envelope::BizError;
use crate::body;

/// Form fields the OST endpoints know (doc §2, §4); other parts are ignored.
const TEXT_FIELDS: [&str; 5] = ["app_id", "request_id", "cloud_id", "upload_id", "slice_id"];
/// The file part.
const DATA_FIELD: &str = "data";
/// Far above any real id; only guards memory.
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// The `data` part, on disk. Bytes past the caller's limit are counted but not kept.
pub(crate) struct DataPart {
    pub temp: TempPath,
    pub size: u64,
    /// The part's Content-Disposition filename: all the service learns of the file's name.
    pub file_name: String,
}

#[derive(Default)]
pub(crate) struct Form {
    fields: HashMap<String, String>,
    pub data: Option<DataPart>,
}

impl Form {
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// Parses the whole body; `data_limit` caps how many `data` bytes are written to disk.
pub(crate) async fn read_form(
    req: Request,
    incoming: &Path,
    data_limit: u64,
) -> Result<Form, BizError> {
    if !is_multipart(&req) {
        body::drain(req.into_body()).await;
        return Err(BizError::invalid(
            "content-type must be multipart/form-data",
        ));
    }
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|e| BizError::invalid(format!("invalid multipart body: {e}")))?;
    let mut form = Form::default();
    let mut first_error: Option<BizError> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            // Malformed framing: nothing further can be read.
            Err(e) => return Err(BizError::invalid(format!("invalid multipart body: {e}"))),
        };
        if first_error.is_some() {
            drain_field(field).await?;
            continue;
        }
        if let Err(e) = read_field(field, &mut form, incoming, data_limit).await {
            first_error = Some(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(form),
    }
}

fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

async fn read_field(
    field: Field<'_>,
    form: &mut Form,
    incoming: &Path,
    data_limit: u64,
) -> Result<(), BizError> {
    let name = field.name().unwrap_or_default().to_owned();
    let file_name = field.file_name().map(str::to_owned);
    let is_file = file_name.is_some();
    if name == DATA_FIELD {
        if !is_file {
            drain_field(field).await?;
            // A part without filename is a plain value to multipart servers, not a file.
            return Err(BizError::invalid(
                "data must be a file part (Content-Disposition with a filename)",
            ));
        }
        if form.data.is_some() {
            drain_field(field).await?;
            return Err(BizError::invalid("duplicate form field data"));
        }
        let mut data = receive_file(field, incoming, data_limit).await?;
        data.file_name = file_name.unwrap_or_default();
        form.data = Some(data);
        return Ok(());
    }
    if !TEXT_FIELDS.contains(&name.as_str()) {
        return drain_field(field).await;
    }
    if is_file {
        drain_field(field).await?;
        return Err(BizError::invalid(format!(
            "{name} must be a plain form field, not a file"
        )));
    }
    let value = read_text(field, &name).await?;
    if form.fields.insert(name.clone(), value).is_some() {
        return Err(BizError::invalid(format!("duplicate form field {name}")));
    }
    Ok(())
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
        return Err(BizError::invalid(format!("{name} is too long")));
    }
    String::from_utf8(buf).map_err(|_| BizError::invalid(format!("{name} is not valid UTF-8")))
}

async fn receive_file(
    mut field: Field<'_>,
    incoming: &Path,
    limit: u64,
) -> Result<DataPart, BizError> {
    let (file, temp) = tempfile::Builder::new()
        .prefix("body-")
        .tempfile_in(incoming)
        .map_err(BizError::io)?
        .into_parts();
    // Batch small network chunks into large writes (each tokio fs write is a blocking-pool hop).
    let mut out = BufWriter::with_capacity(1 << 20, tokio::fs::File::from_std(file));
    let mut size = 0u64;
    let mut write_error = None;
    while let Some(chunk) = next_chunk(&mut field).await? {
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
        Some(e) => Err(BizError::io(e)),
        None => Ok(DataPart { temp, size, file_name: String::new() }),
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
        .map_err(|e| BizError::invalid(format!("invalid multipart body: {e}")))
}
