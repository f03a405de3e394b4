//! Multipart form parts that carry a file's bytes.

use reqwest::multipart::Part;

use crate::providers::PartBody;

/// A streamed file part named `file_name` (the name the service stores or sees).
pub fn file_part(body: PartBody, file_name: String) -> Part {
    let len = body.len();
    Part::stream_with_length(body.into_reqwest(), len)
        .file_name(file_name)
        .mime_str("application/octet-stream")
        .expect("a static MIME type parses")
}
