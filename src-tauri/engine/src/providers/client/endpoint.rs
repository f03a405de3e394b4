//! An account's endpoint and the request URLs built from it.
//!
//! Gateways and reverse proxies put cloud APIs under a path (`https://gw.example.com/feishu`).
//! `Url::join("/v2/…")` would throw that path away, so every provider builds its URLs here:
//! the API path is appended to the endpoint's path, with or without a trailing slash.

use url::Url;

/// The base every request URL of one account starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Path without a trailing slash ("" at the root), no query, no fragment.
    base: Url,
}

impl Endpoint {
    /// Reads an account's endpoint (`http(s)://host[:port][/path][/]`).
    pub fn parse(raw: &str) -> crate::Result<Endpoint> {
        let bad = |why: String| crate::Error::invalid("endpoint", format!("\"{raw}\" is not a valid endpoint URL: {why}"));
        let mut base = Url::parse(raw.trim()).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none_or(str::is_empty) {
            return Err(bad("it must be http:// or https:// and name a host".into()));
        }
        base.set_query(None);
        base.set_fragment(None);
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        Ok(Endpoint { base })
    }

    /// The URL of `api_path` (`/v2/file/create`, or with a query: `/v1/files?x=1`) under
    /// this endpoint, its path kept.
    pub fn url(&self, api_path: &str) -> Url {
        let (path, query) = match api_path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (api_path, None),
        };
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}/{}", path.trim_start_matches('/')));
        url.set_query(query);
        url
    }

    /// What a signer signs as the request line's path for `api_path`: the path really sent,
    /// the endpoint's prefix included.
    pub fn signed_path(&self, api_path: &str) -> String {
        self.url(api_path).path().to_owned()
    }

    /// The `Host` header the client sends: host, and the port when it is not the default.
    pub fn host_header(&self) -> String {
        let host = self.host();
        match self.base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }
    }

    /// The host name, for messages.
    pub fn host(&self) -> &str {
        self.base.host_str().unwrap_or_default()
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.base.as_str().trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_prefix_is_kept_with_or_without_a_trailing_slash() {
        for raw in ["https://gw.example.com/feishu", "https://gw.example.com/feishu/", "https://gw.example.com/feishu//"] {
            let e = Endpoint::parse(raw).unwrap();
            assert_eq!(e.url("/open-apis/x").as_str(), "https://gw.example.com/feishu/open-apis/x", "{raw}");
            assert_eq!(e.url("open-apis/x").as_str(), "https://gw.example.com/feishu/open-apis/x", "{raw}");
            assert_eq!(e.signed_path("/file/upload"), "/feishu/file/upload");
            assert_eq!(e.host_header(), "gw.example.com");
        }
        let root = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(root.url("/v2/file/create").as_str(), "http://127.0.0.1:8080/v2/file/create");
        assert_eq!(root.signed_path("/file/upload"), "/file/upload");
        assert_eq!(root.host_header(), "127.0.0.1:8080");
        assert_eq!(Endpoint::parse("http://127.0.0.1:8080/").unwrap(), root);
        let deep = Endpoint::parse("http://127.0.0.1:9/a/b?x=1#f").unwrap();
        assert_eq!(deep.url("/c").as_str(), "http://127.0.0.1:9/a/b/c");
        assert_eq!(deep.to_string(), "http://127.0.0.1:9/a/b");
        assert_eq!(deep.url("/v1/files?folder_token=f&page_size=200").as_str(), "http://127.0.0.1:9/a/b/v1/files?folder_token=f&page_size=200");
        assert_eq!(deep.signed_path("/c?x=1"), "/a/b/c", "the query is not part of the path");
    }

    #[test]
    fn not_a_web_address_is_refused_naming_the_field() {
        for raw in ["gw.example.com/feishu", "ftp://gw.example.com", ""] {
            let e = Endpoint::parse(raw).unwrap_err();
            assert!(e.to_string().contains("endpoint"), "{raw}: {e}");
        }
    }
}
