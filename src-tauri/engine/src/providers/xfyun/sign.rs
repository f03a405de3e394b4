//! iFlytek's "host date request-line digest" HMAC-SHA256 header signature
//! (shared/providers/xfyun.md §1).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The digest of an empty body. iFlytek's own demo signs this constant for every call and
/// the gateway only checks that the header equals the signed value (§1c), so slices are not
/// hashed twice.
pub const EMPTY_DIGEST: &str = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/// `signature` for one request: Base64(HMAC-SHA256(secret, signature_origin)).
pub fn signature(api_secret: &str, host: &str, date: &str, path: &str, digest: &str) -> String {
    let origin = format!("host: {host}\ndate: {date}\nPOST {path} HTTP/1.1\ndigest: {digest}");
    let mut mac = Hmac::<Sha256>::new_from_slice(api_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(origin.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The plain-text `authorization` header (not base64-encoded).
pub fn authorization(api_key: &str, signature: &str) -> String {
    format!(r#"api_key="{api_key}", algorithm="hmac-sha256", headers="host date request-line digest", signature="{signature}""#)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of §1d, byte for byte.
    const KEY: &str = "apikeyXXXXXXXXXXXXXXXXXXXXXXXXXX";
    const SECRET: &str = "apisecretXXXXXXXXXXXXXXXXXXXXXXX";
    const DATE: &str = "Fri, 23 Apr 2021 02:35:47 GMT";
    const HOST: &str = "upload-ost-api.xfyun.cn";

    #[test]
    fn reproduces_the_documented_signatures() {
        assert_eq!(signature(SECRET, HOST, DATE, "/file/mpupload/init", EMPTY_DIGEST), "qQuGSC+Lnq2QI1kgsCN3we7L4SP2kbQEInHX9EYuZZQ=");
        assert_eq!(signature(SECRET, HOST, DATE, "/file/mpupload/upload", EMPTY_DIGEST), "sBR/Dd+Orose+iSjyezzl3hCHxcN34nF8M+7LYZ9hXQ=");
        assert_eq!(
            signature(SECRET, HOST, DATE, "/file/mpupload/init", "SHA256=SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            "18vfjsuqOn7ri1QfLv2VLxgUu9pUJxcBKvt3rV8crCI="
        );
        assert_eq!(
            signature(SECRET, HOST, DATE, "/file/mpupload/init", "SHA-256=vnwI4XAXGKCOFJt1hFjf7E37xZ5adZJa2WR6QfyE3XM="),
            "7CyhKKR/GAMBdJ07UUKegw5H39amubr0h9VGFlH2RV8="
        );
    }

    #[test]
    fn authorization_is_the_documented_plain_string() {
        assert_eq!(
            authorization(KEY, "qQuGSC+Lnq2QI1kgsCN3we7L4SP2kbQEInHX9EYuZZQ="),
            r#"api_key="apikeyXXXXXXXXXXXXXXXXXXXXXXXXXX", algorithm="hmac-sha256", headers="host date request-line digest", signature="qQuGSC+Lnq2QI1kgsCN3we7L4SP2kbQEInHX9EYuZZQ=""#
        );
    }
}
