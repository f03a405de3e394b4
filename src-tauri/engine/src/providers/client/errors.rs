//! The one place a transport failure becomes a [`ProviderError`]. reqwest's own text names
//! the request URL, and signed storage URLs carry their signature in the query: the message
//! says what failed and why, never where.

use std::error::Error as _;

use reqwest::header::HeaderValue;

use crate::error::ErrorKind;
use crate::providers::ProviderError;

/// A request that failed on the way (connect, timeout, body): it may not have arrived, so
/// it can be sent again.
pub fn transport(what: &str, e: &reqwest::Error) -> ProviderError {
    let how = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() {
        "the body could not be sent or read"
    } else if e.is_decode() {
        "the answer could not be read"
    } else {
        "the request failed"
    };
    let mut cause = how.to_owned();
    let mut src = e.source();
    while let Some(s) = src {
        cause.push_str(": ");
        cause.push_str(&without_urls(&s.to_string()));
        src = s.source();
    }
    ProviderError::temporary(ErrorKind::Network, format!("{what}: network error ({cause})"))
}

/// A header value that holds a credential: marked sensitive, so no Debug output shows it.
pub fn secret_header(value: &str) -> Result<HeaderValue, ProviderError> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| ProviderError::new(ErrorKind::Auth, "the access token is not a valid header value"))?;
    v.set_sensitive(true);
    Ok(v)
}

/// Replaces every `http(s)://…` in `text` with `<url>`.
fn without_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["http://", "https://"].iter().filter_map(|s| rest.find(s)).min() {
        out.push_str(&rest[..i]);
        out.push_str("<url>");
        let tail = &rest[i..];
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>')).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_request_never_names_its_url() {
        // A port nothing listens on, with a signature in the query as signed URLs have.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("http://127.0.0.1:{port}/bucket/part?Signature=SECRET-SIG&OSSAccessKeyId=AK");
        let e = reqwest::Client::new().put(&url).send().await.unwrap_err();
        assert!(e.to_string().contains("SECRET-SIG"), "reqwest's own text does name it: {e}");
        let p = transport("part 3 of 9", &e);
        assert!(p.temporary && p.kind == ErrorKind::Network);
        assert!(p.message.starts_with("part 3 of 9: network error (could not connect"), "{}", p.message);
        assert!(!p.message.contains("SECRET-SIG") && !p.message.contains("127.0.0.1"), "{}", p.message);
    }

    #[test]
    fn urls_are_cut_out_of_causes() {
        assert_eq!(without_urls("error for url (https://h/p?Signature=x) then http://a b"), "error for url (<url>) then <url> b");
        assert_eq!(without_urls("no address here"), "no address here");
    }

    #[test]
    fn credential_headers_are_sensitive() {
        let v = secret_header("tok-123").unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("tok-123"));
    }
}
