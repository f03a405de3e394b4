//! The xfyun mock checked against `shared/providers/xfyun.md`, with a test-only client.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ferry_mock_providers::xfyun::{self, COMPLETE_PATH, INIT_PATH, ONESHOT_PATH, UPLOAD_PATH};
use ferry_mock_providers::{FaultAction, FaultRule, XfyunConfig, XfyunMock};
use hmac::{Hmac, Mac};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use sha1::Digest as _;
use sha2::Sha256;

const APP_ID: &str = "4CC5779A";
const KEY: &str = "apikeyXXXXXXXXXXXXXXXXXXXXXXXXXX";
const SECRET: &str = "apisecretXXXXXXXXXXXXXXXXXXXXXXX";
const DOC_DATE: &str = "Fri, 23 Apr 2021 02:35:47 GMT";
const EMPTY_DIGEST: &str = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const KIB: usize = 1024;

// ---------------------------------------------------------------- test-only signer (doc §1b)

fn signature(secret: &str, host: &str, date: &str, path: &str, digest: &str) -> String {
    let origin = format!("host: {host}\ndate: {date}\nPOST {path} HTTP/1.1\ndigest: {digest}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(origin.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn authorization(api_key: &str, signature: &str) -> String {
    format!(
        r#"api_key="{api_key}", algorithm="hmac-sha256", headers="host date request-line digest", signature="{signature}""#
    )
}

fn body_digest(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

fn sha1_hex(bytes: &[u8]) -> String {
    sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_date() -> String {
    httpdate::fmt_http_date(SystemTime::now())
}

/// Deterministic, non-repeating-ish content so a misplaced slice changes the hash.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(7) as u8 ^ seed)
        .collect()
}

// ---------------------------------------------------------------- test client

fn small_slices() -> XfyunConfig {
    XfyunConfig {
        min_slice: 64 * KIB as u64,
        ..XfyunConfig::default()
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    host: String,
    api_key: String,
    secret: String,
    app_id: String,
}

impl Client {
    fn new(mock: &XfyunMock) -> Self {
        Client {
            http: reqwest::Client::new(),
            base: mock.base_url(),
            host: mock.addr().to_string(),
            api_key: mock.config().api_key.clone(),
            secret: mock.config().api_secret.clone(),
            app_id: mock.config().app_id.clone(),
        }
    }

    /// A POST carrying the four signed headers, with the empty-body digest (doc §1c).
    fn signed(&self, path: &str) -> reqwest::RequestBuilder {
        let date = now_date();
        let sig = signature(&self.secret, &self.host, &date, path, EMPTY_DIGEST);
        self.http
            .post(format!("{}{path}", self.base))
            .header("host", &self.host)
            .header("date", date)
            .header("digest", EMPTY_DIGEST)
            .header("authorization", authorization(&self.api_key, &sig))
    }

    async fn envelope(req: reqwest::RequestBuilder) -> Value {
        let resp = req.send().await.expect("transport");
        assert_eq!(resp.status(), 200, "business answers are HTTP 200");
        let body: Value = resp.json().await.expect("JSON envelope");
        assert!(
            body["sid"].as_str().is_some_and(|s| s.starts_with("ost")),
            "sid in {body}"
        );
        assert!(
            body["code"].is_i64() && body["message"].is_string(),
            "envelope {body}"
        );
        body
    }

    async fn json(&self, path: &str, body: Value) -> Value {
        Self::envelope(self.signed(path).json(&body)).await
    }

    async fn form(&self, path: &str, form: Form) -> Value {
        Self::envelope(self.signed(path).multipart(form)).await
    }

    fn ids(&self) -> Value {
        json!({ "app_id": self.app_id, "request_id": uuid_like() })
    }

    async fn init(&self) -> String {
        let resp = self
            .json(
                INIT_PATH,
                json!({ "app_id": self.app_id, "request_id": uuid_like(), "cloud_id": "0" }),
            )
            .await;
        assert_eq!(resp["code"], 0, "{resp}");
        resp["data"]["upload_id"]
            .as_str()
            .expect("upload_id")
            .to_owned()
    }

    /// Data first, as the doc recommends.
    fn slice_form(&self, upload_id: &str, slice_id: &str, bytes: Vec<u8>) -> Form {
        Form::new()
            .part("data", file_part(bytes))
            .text("app_id", self.app_id.clone())
            .text("request_id", uuid_like())
            .text("upload_id", upload_id.to_owned())
            .text("slice_id", slice_id.to_owned())
    }

    async fn slice(&self, upload_id: &str, slice_id: &str, bytes: Vec<u8>) -> Value {
        self.form(UPLOAD_PATH, self.slice_form(upload_id, slice_id, bytes))
            .await
    }

    async fn complete(&self, upload_id: &str) -> Value {
        let mut body = self.ids();
        body["upload_id"] = json!(upload_id);
        self.json(COMPLETE_PATH, body).await
    }

    async fn cancel(&self, upload_id: &str) -> Value {
        let mut body = self.ids();
        body["upload_id"] = json!(upload_id);
        self.json(xfyun::CANCEL_PATH, body).await
    }

    fn oneshot_form(&self, bytes: Vec<u8>) -> Form {
        Form::new()
            .text("app_id", self.app_id.clone())
            .part("data", file_part(bytes))
            .text("request_id", uuid_like())
    }
}

fn file_part(bytes: Vec<u8>) -> Part {
    Part::bytes(bytes)
        .file_name("meeting.mp3")
        .mime_str("application/octet-stream")
        .unwrap()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:032x}",
        N.fetch_add(1, Ordering::Relaxed) ^ 0x5d2c_7f0e_9a8b_4c3d
    )
}

fn assert_code(resp: &Value, code: i64, message_part: &str) {
    assert_eq!(resp["code"], code, "{resp}");
    let message = resp["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(message_part),
        "message {message:?} should contain {message_part:?}"
    );
}

// ---------------------------------------------------------------- §1 signature

#[test]
fn test_signer_reproduces_the_doc_worked_example() {
    let host = "upload-ost-api.xfyun.cn";
    assert_eq!(
        signature(SECRET, host, DOC_DATE, INIT_PATH, EMPTY_DIGEST),
        "qQuGSC+Lnq2QI1kgsCN3we7L4SP2kbQEInHX9EYuZZQ="
    );
    assert_eq!(
        signature(SECRET, host, DOC_DATE, UPLOAD_PATH, EMPTY_DIGEST),
        "sBR/Dd+Orose+iSjyezzl3hCHxcN34nF8M+7LYZ9hXQ="
    );
    let demo_digest = format!("SHA256={EMPTY_DIGEST}");
    assert_eq!(
        signature(SECRET, host, DOC_DATE, INIT_PATH, &demo_digest),
        "18vfjsuqOn7ri1QfLv2VLxgUu9pUJxcBKvt3rV8crCI="
    );
    let body = br#"{"app_id":"4CC5779A","request_id":"202006290840","cloud_id":"0"}"#;
    assert_eq!(
        body_digest(body),
        "SHA-256=vnwI4XAXGKCOFJt1hFjf7E37xZ5adZJa2WR6QfyE3XM="
    );
    assert_eq!(
        signature(SECRET, host, DOC_DATE, INIT_PATH, &body_digest(body)),
        "7CyhKKR/GAMBdJ07UUKegw5H39amubr0h9VGFlH2RV8="
    );
    assert_eq!(body_digest(b""), EMPTY_DIGEST);
}

/// The doc's exact request (§1d), with the clock check relaxed because its date is in the past.
#[tokio::test]
async fn mock_accepts_the_doc_worked_example_requests() {
    let mock = XfyunMock::start(XfyunConfig {
        clock_skew_secs: u64::MAX,
        ..XfyunConfig::default()
    })
    .await;
    let http = reqwest::Client::new();
    let body = r#"{"app_id":"4CC5779A","request_id":"202006290840","cloud_id":"0"}"#;
    let body_hash = body_digest(body.as_bytes());
    let demo_digest = format!("SHA256={EMPTY_DIGEST}");
    let variants = [
        (EMPTY_DIGEST, "qQuGSC+Lnq2QI1kgsCN3we7L4SP2kbQEInHX9EYuZZQ="),
        (
            demo_digest.as_str(),
            "18vfjsuqOn7ri1QfLv2VLxgUu9pUJxcBKvt3rV8crCI=",
        ),
        (
            body_hash.as_str(),
            "7CyhKKR/GAMBdJ07UUKegw5H39amubr0h9VGFlH2RV8=",
        ),
    ];
    for (digest, sig) in variants {
        let resp = http
            .post(format!("{}{INIT_PATH}", mock.base_url()))
            .header("host", "upload-ost-api.xfyun.cn")
            .header("date", DOC_DATE)
            .header("digest", digest)
            .header("authorization", authorization(KEY, sig))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "digest {digest}");
        let env: Value = resp.json().await.unwrap();
        assert_eq!(env["code"], 0, "{env}");
        assert!(env["data"]["upload_id"]
            .as_str()
            .unwrap()
            .starts_with("up_"));
    }
    assert_eq!(mock.stats().inits, 3);

    // With the real 300 s window the same (old) request is refused for its date.
    let strict = XfyunMock::start(XfyunConfig::default()).await;
    let resp = http
        .post(format!("{}{INIT_PATH}", strict.base_url()))
        .header("host", "upload-ost-api.xfyun.cn")
        .header("date", DOC_DATE)
        .header("digest", EMPTY_DIGEST)
        .header(
            "authorization",
            authorization(KEY, "qQuGSC+Lnq2QI1kgsCN3we7L4SP2kbQEInHX9EYuZZQ="),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

/// (header name, value or None to leave it out).
type HeaderOverrides<'a> = Vec<(&'a str, Option<String>)>;

/// Sends an init with the given header overrides; returns (status, message).
async fn init_with_headers(mock: &XfyunMock, headers: &[(&str, Option<String>)]) -> (u16, String) {
    let host = mock.addr().to_string();
    let date = now_date();
    let sig = signature(SECRET, &host, &date, INIT_PATH, EMPTY_DIGEST);
    let mut all = vec![
        ("host", Some(host)),
        ("date", Some(date)),
        ("digest", Some(EMPTY_DIGEST.to_owned())),
        ("authorization", Some(authorization(KEY, &sig))),
    ];
    for (name, value) in headers {
        if let Some(slot) = all.iter_mut().find(|(n, _)| n == name) {
            slot.1 = value.clone();
        }
    }
    let mut req = reqwest::Client::new()
        .post(format!("{}{INIT_PATH}", mock.base_url()))
        .json(&json!({ "app_id": APP_ID, "request_id": "r1" }));
    for (name, value) in all {
        if let Some(value) = value {
            req = req.header(name, value);
        }
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert!(
        body.get("code").is_none() && body.get("sid").is_none(),
        "gateway body has only message: {body}"
    );
    (
        status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn signature_failures_answer_the_gateway_errors_of_doc_1e() {
    let mock = XfyunMock::start(XfyunConfig::default()).await;
    let host = mock.addr().to_string();
    let date = now_date();
    let sign =
        |secret: &str, path: &str, digest: &str| signature(secret, &host, &date, path, digest);
    let cannot = "HMAC signature cannot be verified";
    let no_match = "HMAC signature does not match";
    let bad_date = "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication";
    let with_auth = |a: String| vec![("date", Some(date.clone())), ("authorization", Some(a))];

    let cases: Vec<(&str, HeaderOverrides, u16, &str)> = vec![
        (
            "no authorization",
            vec![("authorization", None)],
            401,
            "Unauthorized",
        ),
        (
            "garbage authorization",
            with_auth("hmac nonsense".into()),
            401,
            cannot,
        ),
        (
            "base64 of the authorization",
            with_auth(BASE64.encode(authorization(KEY, &sign(SECRET, INIT_PATH, EMPTY_DIGEST)))),
            401,
            cannot,
        ),
        (
            "unknown api_key",
            with_auth(authorization(
                "someoneelse",
                &sign(SECRET, INIT_PATH, EMPTY_DIGEST),
            )),
            401,
            cannot,
        ),
        (
            "other algorithm",
            with_auth(
                authorization(KEY, &sign(SECRET, INIT_PATH, EMPTY_DIGEST))
                    .replace("hmac-sha256", "hmac-sha1"),
            ),
            401,
            cannot,
        ),
        (
            "wrong secret",
            with_auth(authorization(KEY, &sign("wrong", INIT_PATH, EMPTY_DIGEST))),
            401,
            no_match,
        ),
        (
            "signed for another path",
            with_auth(authorization(KEY, &sign(SECRET, UPLOAD_PATH, EMPTY_DIGEST))),
            401,
            no_match,
        ),
        (
            "digest differs from the signed one",
            vec![("digest", Some(body_digest(b"x")))],
            401,
            no_match,
        ),
        (
            "signature not base64",
            with_auth(authorization(KEY, "!!!")),
            401,
            no_match,
        ),
        ("no date", vec![("date", None)], 403, bad_date),
    ];
    for (what, headers, status, message) in cases {
        let (got_status, got_message) = init_with_headers(&mock, &headers).await;
        assert_eq!(got_status, status, "{what}: {got_message}");
        assert_eq!(got_message, message, "{what}");
    }
    assert_eq!(mock.stats().auth_failures, 10);
    assert_eq!(mock.stats().inits, 0);

    // A signed Host without port (what a client sends to the real host) must also verify
    // when it is the Host actually carried by the request.
    let date = now_date();
    let sig = signature(SECRET, "127.0.0.1", &date, INIT_PATH, EMPTY_DIGEST);
    let headers = [
        ("host", Some("127.0.0.1".to_owned())),
        ("date", Some(date)),
        ("authorization", Some(authorization(KEY, &sig))),
    ];
    let resp = init_with_headers_ok(&mock, &headers).await;
    assert_eq!(resp["code"], 0, "{resp}");
}

async fn init_with_headers_ok(mock: &XfyunMock, headers: &[(&str, Option<String>)]) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{}{INIT_PATH}", mock.base_url()))
        .header("digest", EMPTY_DIGEST)
        .json(&json!({ "app_id": APP_ID, "request_id": "r1" }));
    for (name, value) in headers {
        req = req.header(*name, value.clone().unwrap());
    }
    req.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn dates_more_than_300_s_away_or_not_rfc1123_are_403() {
    let mock = XfyunMock::start(XfyunConfig::default()).await;
    let host = mock.addr().to_string();
    let now = SystemTime::now();
    let try_date = |date: String| {
        let sig = signature(SECRET, &host, &date, INIT_PATH, EMPTY_DIGEST);
        vec![
            ("date", Some(date)),
            ("authorization", Some(authorization(KEY, &sig))),
        ]
    };
    let fmt = httpdate::fmt_http_date;
    for (date, ok) in [
        (fmt(now - Duration::from_secs(320)), false),
        (fmt(now + Duration::from_secs(320)), false),
        (fmt(now - Duration::from_secs(250)), true),
        (fmt(now + Duration::from_secs(250)), true),
    ] {
        let (status, message) = init_with_headers_status(&mock, &try_date(date.clone())).await;
        assert_eq!(status == 200, ok, "{date}: {status} {message}");
        if !ok {
            assert_eq!(status, 403);
        }
    }
    // RFC 850 form of a fresh date: a valid HTTP date, but not the RFC 1123 the doc requires.
    let rfc850 = rfc850(&fmt(now));
    assert!(httpdate::parse_http_date(&rfc850).is_ok(), "{rfc850}");
    let (status, _) = init_with_headers_status(&mock, &try_date(rfc850)).await;
    assert_eq!(status, 403);
}

/// `Wed, 02 Jan 2026 15:04:05 GMT` → `Wednesday, 02-Jan-26 15:04:05 GMT`.
fn rfc850(rfc1123: &str) -> String {
    let parts: Vec<&str> = rfc1123.split(' ').collect();
    let days = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let day = days.iter().find(|d| d[..3] == parts[0][..3]).unwrap();
    format!(
        "{day}, {}-{}-{} {} GMT",
        parts[1],
        parts[2],
        &parts[3][2..],
        parts[4]
    )
}

async fn init_with_headers_status(
    mock: &XfyunMock,
    headers: &[(&str, Option<String>)],
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{}{INIT_PATH}", mock.base_url()))
        .header("host", mock.addr().to_string())
        .header("digest", EMPTY_DIGEST)
        .json(&json!({ "app_id": APP_ID, "request_id": "r1" }));
    for (name, value) in headers {
        req = req.header(*name, value.clone().unwrap());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

// ---------------------------------------------------------------- request parameters

#[tokio::test]
async fn request_id_and_app_id_are_checked_on_json_calls() {
    let mock = XfyunMock::start(XfyunConfig::default()).await;
    let c = Client::new(&mock);
    let cases = [
        (json!({ "app_id": APP_ID }), "requestId must not be empty"),
        (
            json!({ "app_id": APP_ID, "request_id": "" }),
            "requestId must not be empty",
        ),
        (json!({ "request_id": "r" }), "appId must not be empty"),
        (
            json!({ "app_id": "OTHERAPP", "request_id": "r" }),
            "appId OTHERAPP is invalid",
        ),
        (
            json!({ "app_id": APP_ID, "request_id": 12 }),
            "request_id must be a string",
        ),
        (json!([1, 2]), "JSON object"),
    ];
    for (body, message) in cases {
        assert_code(
            &c.json(INIT_PATH, body).await,
            xfyun::INVALID_PARAMETER,
            message,
        );
    }
    // The seed's example with a trailing comma is not JSON.
    let bad = c
        .signed(INIT_PATH)
        .header("content-type", "application/json")
        .body(r#"{"app_id":"4CC5779A","request_id":"r",}"#);
    assert_code(
        &Client::envelope(bad).await,
        xfyun::INVALID_PARAMETER,
        "not valid JSON",
    );
    let form = c
        .signed(INIT_PATH)
        .multipart(Form::new().text("app_id", APP_ID).text("request_id", "r"));
    assert_code(
        &Client::envelope(form).await,
        xfyun::INVALID_PARAMETER,
        "application/json",
    );
    assert_eq!(mock.stats().inits, 0);
    assert_eq!(mock.stats().business_errors, 8);
}

#[tokio::test]
async fn slice_id_must_be_a_decimal_starting_at_1() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let up = c.init().await;
    for bad in ["0", ""] {
        assert_code(
            &c.slice(&up, bad, vec![1; 10]).await,
            xfyun::INVALID_PARAMETER,
            "sliceId must not be empty",
        );
    }
    let missing = Form::new()
        .part("data", file_part(vec![1; 10]))
        .text("app_id", APP_ID)
        .text("request_id", "r")
        .text("upload_id", up.clone());
    assert_code(
        &c.form(UPLOAD_PATH, missing).await,
        xfyun::INVALID_PARAMETER,
        "sliceId must not be empty",
    );
    for bad in ["-1", "one", "1.0", "10001"] {
        assert_code(
            &c.slice(&up, bad, vec![1; 10]).await,
            xfyun::INVALID_PARAMETER,
            "sliceId",
        );
    }
    assert_eq!(c.slice(&up, "1", vec![1; 10]).await["code"], 0);
    assert_eq!(mock.stats().slices_received, 1);
}

#[tokio::test]
async fn slice_form_needs_every_field_and_a_file_part() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let up = c.init().await;
    let base = || {
        Form::new()
            .text("app_id", APP_ID)
            .text("request_id", "r")
            .text("slice_id", "1")
    };
    let no_upload_id = base().part("data", file_part(vec![1; 10]));
    assert_code(
        &c.form(UPLOAD_PATH, no_upload_id).await,
        xfyun::INVALID_PARAMETER,
        "uploadId must not be empty",
    );
    let no_data = base().text("upload_id", up.clone());
    assert_code(
        &c.form(UPLOAD_PATH, no_data).await,
        xfyun::INVALID_PARAMETER,
        "data must not be empty",
    );
    let data_as_text = base()
        .text("upload_id", up.clone())
        .text("data", "not a file");
    assert_code(
        &c.form(UPLOAD_PATH, data_as_text).await,
        xfyun::INVALID_PARAMETER,
        "file part",
    );
    let empty_slice = base()
        .text("upload_id", up.clone())
        .part("data", file_part(Vec::new()));
    assert_code(
        &c.form(UPLOAD_PATH, empty_slice).await,
        xfyun::INVALID_PARAMETER,
        "data must not be empty",
    );
    let wrong_app = Form::new()
        .text("app_id", "NOPE")
        .text("request_id", "r")
        .text("slice_id", "1")
        .text("upload_id", up.clone())
        .part("data", file_part(vec![1; 10]));
    assert_code(
        &c.form(UPLOAD_PATH, wrong_app).await,
        xfyun::INVALID_PARAMETER,
        "appId",
    );
    let json_body = c.signed(UPLOAD_PATH).json(&json!({ "app_id": APP_ID }));
    assert_code(
        &Client::envelope(json_body).await,
        xfyun::INVALID_PARAMETER,
        "multipart/form-data",
    );
    // Seed field order (data in the middle) is accepted like any other.
    let seed_order = Form::new()
        .text("app_id", APP_ID)
        .text("slice_id", "1")
        .part("data", file_part(vec![1; 10]))
        .text("upload_id", up.clone())
        .text("request_id", "r");
    assert_eq!(c.form(UPLOAD_PATH, seed_order).await["code"], 0);
    assert_eq!(mock.stats().slices_received, 1);
}

// ---------------------------------------------------------------- multipart flow

#[tokio::test]
async fn multipart_upload_with_doc_slice_size_stores_the_exact_bytes() {
    let mock = XfyunMock::start(XfyunConfig::default()).await;
    let c = Client::new(&mock);
    let s = 5_242_880;
    let file = pattern(2 * s + 12_345, 7);
    let up = c.init().await;
    let mut sids = Vec::new();
    for (i, chunk) in file.chunks(s).enumerate() {
        let resp = c.slice(&up, &(i + 1).to_string(), chunk.to_vec()).await;
        assert_eq!(resp["code"], 0, "{resp}");
        assert!(
            resp.get("data").is_none(),
            "upload answers without data: {resp}"
        );
        sids.push(resp["sid"].as_str().unwrap().to_owned());
    }
    let done = c.complete(&up).await;
    assert_eq!(done["code"], 0, "{done}");
    let url = done["data"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://xfyun-seve-dx/") && url.len() > 30,
        "{url}"
    );
    sids.push(done["sid"].as_str().unwrap().to_owned());
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), 4, "every response has its own sid");

    let objects = mock.objects();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].url, url);
    assert_eq!(objects[0].size, file.len() as u64);
    assert_eq!(objects[0].sha1_hex, sha1_hex(&file));
    assert_eq!(mock.object_bytes(url).unwrap(), file);

    let stats = mock.stats();
    assert_eq!(
        (stats.inits, stats.slices_received, stats.completes_ok),
        (1, 3, 1)
    );
    assert_eq!(stats.slice_bytes_received, file.len() as u64);
    assert_eq!(stats.requests_by_endpoint[UPLOAD_PATH], 3);
    assert_eq!(stats.max_concurrent_slices_per_upload, 1);
    // The upload is finished: its id is gone.
    assert_code(&c.complete(&up).await, xfyun::UPLOAD_EXPIRED, "");
}

#[tokio::test]
async fn complete_reports_a_missing_slice_and_succeeds_once_it_arrives() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let s = 64 * KIB;
    let file = pattern(3 * s - 5, 1);
    let parts: Vec<Vec<u8>> = file.chunks(s).map(<[u8]>::to_vec).collect();
    let up = c.init().await;
    // Out of order is allowed by default; slice 2 is missing.
    assert_eq!(c.slice(&up, "3", parts[2].clone()).await["code"], 0);
    assert_eq!(c.slice(&up, "1", parts[0].clone()).await["code"], 0);
    assert_code(
        &c.complete(&up).await,
        xfyun::INVALID_PARAMETER,
        "slice 2 is missing",
    );
    assert_eq!(c.slice(&up, "2", parts[1].clone()).await["code"], 0);
    let done = c.complete(&up).await;
    assert_eq!(done["code"], 0, "{done}");
    assert_eq!(
        mock.object_bytes(done["data"]["url"].as_str().unwrap())
            .unwrap(),
        file
    );
}

#[tokio::test]
async fn complete_enforces_slice_sizes() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let s = 64 * KIB;

    let undersized = c.init().await;
    c.slice(&undersized, "1", vec![1; s - 1]).await;
    c.slice(&undersized, "2", vec![2; 10]).await;
    assert_code(
        &c.complete(&undersized).await,
        xfyun::INVALID_PARAMETER,
        "every slice except the last must be",
    );

    let unequal = c.init().await;
    c.slice(&unequal, "1", vec![1; s]).await;
    c.slice(&unequal, "2", vec![2; s + 1]).await;
    c.slice(&unequal, "3", vec![3; 10]).await;
    assert_code(
        &c.complete(&unequal).await,
        xfyun::INVALID_PARAMETER,
        "same size",
    );

    let big_last = c.init().await;
    c.slice(&big_last, "1", vec![1; s]).await;
    c.slice(&big_last, "2", vec![2; s + 1]).await;
    assert_code(
        &c.complete(&big_last).await,
        xfyun::INVALID_PARAMETER,
        "larger than",
    );

    // A single slice is the last one: any size.
    let lone = c.init().await;
    c.slice(&lone, "1", vec![9; 10]).await;
    assert_eq!(c.complete(&lone).await["code"], 0);
    // Nothing uploaded: 10005 (doc §8).
    let empty = c.init().await;
    assert_code(&c.complete(&empty).await, xfyun::UPLOAD_EXPIRED, "no slice");
}

#[tokio::test]
async fn slice_limits_are_enforced_at_upload() {
    let mock = XfyunMock::start(XfyunConfig {
        min_slice: 100,
        max_slice: 1000,
        max_slices: 3,
        ..Default::default()
    })
    .await;
    let c = Client::new(&mock);
    let up = c.init().await;
    assert_code(
        &c.slice(&up, "1", vec![0; 1001]).await,
        xfyun::INVALID_PARAMETER,
        "maximum slice size",
    );
    assert_code(
        &c.slice(&up, "4", vec![0; 10]).await,
        xfyun::INVALID_PARAMETER,
        "maximum of 3 slices",
    );
    assert_eq!(c.slice(&up, "1", vec![0; 1000]).await["code"], 0);
    assert_eq!(mock.stats().slices_received, 1);
}

#[tokio::test]
async fn resending_a_slice_replaces_it() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let s = 64 * KIB;
    let up = c.init().await;
    c.slice(&up, "1", vec![1; s]).await;
    c.slice(&up, "2", vec![0xEE; 7]).await;
    c.slice(&up, "2", vec![2; 9]).await; // the retry wins
    let done = c.complete(&up).await;
    let mut expected = vec![1; s];
    expected.extend_from_slice(&[2; 9]);
    assert_eq!(
        mock.object_bytes(done["data"]["url"].as_str().unwrap())
            .unwrap(),
        expected
    );
    assert_eq!(mock.stats().slices_received, 3);
}

#[tokio::test]
async fn sequential_mode_accepts_next_or_repeat_only() {
    let mock = XfyunMock::start(XfyunConfig {
        require_sequential_slices: true,
        ..small_slices()
    })
    .await;
    let c = Client::new(&mock);
    let s = 64 * KIB;
    let up = c.init().await;
    assert_code(
        &c.slice(&up, "2", vec![1; s]).await,
        xfyun::INVALID_PARAMETER,
        "the next slice must be 1",
    );
    assert_eq!(c.slice(&up, "1", vec![1; s]).await["code"], 0);
    assert_eq!(c.slice(&up, "1", vec![1; s]).await["code"], 0);
    assert_code(
        &c.slice(&up, "3", vec![1; s]).await,
        xfyun::INVALID_PARAMETER,
        "out of order",
    );
    assert_eq!(c.slice(&up, "2", vec![2; 5]).await["code"], 0);
    assert_eq!(c.complete(&up).await["code"], 0);
}

#[tokio::test]
async fn cancelled_unknown_and_expired_uploads_answer_10005() {
    let mock = XfyunMock::start(XfyunConfig {
        upload_ttl: Some(Duration::from_millis(300)),
        ..small_slices()
    })
    .await;
    let c = Client::new(&mock);
    let up = c.init().await;
    c.slice(&up, "1", vec![1; 10]).await;
    assert_eq!(c.cancel(&up).await["code"], 0);
    assert_code(&c.complete(&up).await, xfyun::UPLOAD_EXPIRED, "");
    assert_code(
        &c.slice(&up, "2", vec![1; 10]).await,
        xfyun::UPLOAD_EXPIRED,
        "",
    );
    assert_code(&c.cancel(&up).await, xfyun::UPLOAD_EXPIRED, "");
    assert_code(
        &c.complete("up_000000000000").await,
        xfyun::UPLOAD_EXPIRED,
        "",
    );
    assert_code(
        &c.complete("").await,
        xfyun::INVALID_PARAMETER,
        "uploadId must not be empty",
    );

    let old = c.init().await;
    assert_eq!(c.slice(&old, "1", vec![1; 10]).await["code"], 0);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_code(
        &c.slice(&old, "2", vec![1; 10]).await,
        xfyun::UPLOAD_EXPIRED,
        "expired",
    );
    assert_code(&c.complete(&old).await, xfyun::UPLOAD_EXPIRED, "");
    assert_eq!(mock.stats().cancels, 1);
}

// ---------------------------------------------------------------- §2 one-shot

#[tokio::test]
async fn oneshot_upload_limits_and_contents() {
    let mock = XfyunMock::start(XfyunConfig {
        oneshot_max_bytes: 100 * KIB as u64,
        ..Default::default()
    })
    .await;
    let c = Client::new(&mock);
    let file = pattern(100 * KIB, 3);
    let ok = c.form(ONESHOT_PATH, c.oneshot_form(file.clone())).await;
    assert_eq!(ok["code"], 0, "{ok}");
    let url = ok["data"]["url"].as_str().unwrap();
    assert!(url.starts_with("https://xfyun-seve-dx/"));
    assert_eq!(mock.object_bytes(url).unwrap(), file);

    let over = c
        .form(ONESHOT_PATH, c.oneshot_form(vec![0; 100 * KIB + 1]))
        .await;
    assert_code(&over, xfyun::INVALID_PARAMETER, "at most 102400 bytes");

    let empty = c.form(ONESHOT_PATH, c.oneshot_form(Vec::new())).await;
    assert_eq!(empty["code"], 0, "{empty}");
    let no_request_id = Form::new()
        .text("app_id", APP_ID)
        .part("data", file_part(vec![1]));
    assert_code(
        &c.form(ONESHOT_PATH, no_request_id).await,
        xfyun::INVALID_PARAMETER,
        "requestId",
    );
    let no_data = Form::new()
        .text("app_id", APP_ID)
        .text("request_id", "r")
        .text("cloud_id", "0");
    assert_code(
        &c.form(ONESHOT_PATH, no_data).await,
        xfyun::INVALID_PARAMETER,
        "data must not be empty",
    );

    let objects = mock.objects();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[1].size, 0);
    assert_eq!(objects[1].sha1_hex, sha1_hex(b""));
    let stats = mock.stats();
    assert_eq!(
        (stats.oneshots_ok, stats.oneshot_bytes_received),
        (2, file.len() as u64)
    );
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn dropped_connection_is_a_transport_error() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let up = c.init().await;
    mock.faults()
        .push(
            FaultRule::on(
                UPLOAD_PATH,
                FaultAction::DropMidBody {
                    after_bytes: 64 * KIB as u64,
                },
            )
            .times(1),
        )
        .unwrap();
    let err = c
        .signed(UPLOAD_PATH)
        .multipart(c.slice_form(&up, "1", vec![5; 1024 * KIB]))
        .send()
        .await;
    let err = err.expect_err("the connection was dropped without an answer");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    assert_eq!(mock.stats().slices_received, 0);
    // The retry goes through.
    assert_eq!(c.slice(&up, "1", vec![5; 1024 * KIB]).await["code"], 0);
    let stats = mock.stats();
    assert_eq!((stats.slices_received, stats.faults_injected), (1, 1));
    assert_eq!(stats.requests_by_endpoint[UPLOAD_PATH], 2);
}

#[tokio::test]
async fn http_status_throttle_and_business_faults() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    mock.faults()
        .set(vec![
            FaultRule::on(INIT_PATH, FaultAction::HttpStatus { status: 503 }).times(2),
            FaultRule::on(
                INIT_PATH,
                FaultAction::Throttle {
                    retry_after_secs: 1,
                },
            )
            .times(1),
            FaultRule::on(
                INIT_PATH,
                FaultAction::BusinessError {
                    code: 10002,
                    message: None,
                },
            )
            .times(1),
            FaultRule::on(
                INIT_PATH,
                FaultAction::BusinessError {
                    code: 10007,
                    message: Some("boom".into()),
                },
            )
            .times(1),
        ])
        .unwrap();
    let body = json!({ "app_id": APP_ID, "request_id": "r" });
    for _ in 0..2 {
        let resp = c.signed(INIT_PATH).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 503);
    }
    let resp = c.signed(INIT_PATH).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_code(&c.json(INIT_PATH, body.clone()).await, 10002, "操作s3出错");
    assert_code(&c.json(INIT_PATH, body.clone()).await, 10007, "boom");
    assert_eq!(c.json(INIT_PATH, body).await["code"], 0);
    let stats = mock.stats();
    assert_eq!(
        (stats.inits, stats.faults_injected, stats.business_errors),
        (1, 5, 0)
    );
    assert_eq!(stats.requests_by_endpoint[INIT_PATH], 6);
    let fired: Vec<u64> = mock.faults().snapshot().iter().map(|r| r.fired).collect();
    assert_eq!(fired, [2, 1, 1, 1]);
}

#[tokio::test]
async fn injected_10005_on_slices_and_delay() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let up = c.init().await;
    mock.faults()
        .push(
            FaultRule::on(
                UPLOAD_PATH,
                FaultAction::BusinessError {
                    code: 10005,
                    message: None,
                },
            )
            .times(1),
        )
        .unwrap();
    assert_code(
        &c.slice(&up, "1", vec![1; 10]).await,
        10005,
        "上传信息已过期",
    );
    mock.faults()
        .set(vec![FaultRule::anywhere(FaultAction::Delay { ms: 300 })])
        .unwrap();
    let started = Instant::now();
    assert_eq!(c.slice(&up, "1", vec![1; 10]).await["code"], 0);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    mock.faults().clear();
    let started = Instant::now();
    assert_eq!(c.complete(&up).await["code"], 0);
    assert!(started.elapsed() < Duration::from_millis(300));
}

/// Control routes drive the same rules over HTTP (for a mock running as a subprocess).
#[tokio::test]
async fn faults_and_state_over_http_every_nth_and_seeded_random() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let http = reqwest::Client::new();
    let rules = json!([{
        "path": INIT_PATH,
        "action": { "kind": "http_status", "status": 500 },
        "trigger": { "mode": "every_nth", "k": 3 }
    }]);
    let resp = http
        .post(format!("{}/__mock/faults", mock.base_url()))
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = json!({ "app_id": APP_ID, "request_id": "r" });
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            c.signed(INIT_PATH)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500]);

    let state: Value = http
        .get(format!("{}/__mock/state", mock.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["stats"]["inits"], 4);
    assert_eq!(state["stats"]["faults_injected"], 2);
    assert_eq!(state["faults"][0]["fired"], 2);
    assert_eq!(state["faults"][0]["seen"], 6);
    assert!(state["objects"].as_array().unwrap().is_empty());

    // A typo in a rule is refused and leaves the rules as they were.
    let typo = json!([{ "action": { "kind": "http_status", "code": 500 }, "trigger": { "mode": "always" } }]);
    let resp = http
        .post(format!("{}/__mock/faults", mock.base_url()))
        .json(&typo)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(mock.faults().snapshot().len(), 1);

    let resp = http
        .post(format!("{}/__mock/reset", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.stats(), Default::default());
    assert!(mock.faults().snapshot().is_empty());

    // Seeded random faults repeat exactly on a fresh mock.
    let random = json!([{ "action": { "kind": "http_status", "status": 502 },
                          "trigger": { "mode": "random", "probability": 0.5, "seed": 7 } }]);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let m = XfyunMock::start(small_slices()).await;
        let c = Client::new(&m);
        http.post(format!("{}/__mock/faults", m.base_url()))
            .json(&random)
            .send()
            .await
            .unwrap();
        let mut run = Vec::new();
        for _ in 0..16 {
            run.push(
                c.signed(INIT_PATH)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        runs.push(run);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&502) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn faults_do_not_touch_control_routes() {
    let mock = XfyunMock::start(small_slices()).await;
    mock.faults()
        .push(FaultRule::anywhere(FaultAction::HttpStatus { status: 500 }))
        .unwrap();
    let resp = reqwest::get(format!("{}/__mock/state", mock.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = reqwest::get(format!("{}/nope", mock.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn issued_lists_every_signature_checked_and_hostile_faults_answer_as_told() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Client::new(&mock);
    let date = now_date();
    let sig = signature(&c.secret, &c.host, &date, INIT_PATH, EMPTY_DIGEST);
    let req = c.http.post(format!("{}{INIT_PATH}", c.base)).header("host", &c.host).header("date", &date).header("digest", EMPTY_DIGEST);
    Client::envelope(req.header("authorization", authorization(&c.api_key, &sig)).json(&c.ids())).await;
    let issued: Vec<String> = reqwest::get(format!("{}/__mock/issued", mock.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(issued, vec![sig], "the signature just checked");
    assert_eq!(issued, mock.issued());

    mock.faults().push(FaultRule::on(INIT_PATH, FaultAction::RawRetryAfter { status: 503, value: "NaN".into() }).times(1)).unwrap();
    let resp = c.signed(INIT_PATH).json(&c.ids()).send().await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.headers()["retry-after"].to_str().unwrap()), (503, "NaN"));
    mock.faults().push(FaultRule::on(INIT_PATH, FaultAction::HugeAnswer { bytes: 100 << 20 }).times(1)).unwrap();
    let mut resp = c.signed(INIT_PATH).json(&c.ids()).send().await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.content_length()), (200, Some(100 << 20)));
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(b"{\"data\":\"x"), "JSON-looking: {:?}", &first[..first.len().min(16)]);
    // Dropped unread: the mock stops making the rest.
}

// ---------------------------------------------------------------- sink, concurrency, binary

#[tokio::test]
async fn sink_counts_bytes_and_hashes_them() {
    let mock = XfyunMock::start(XfyunConfig::default()).await;
    let data = pattern(3 * 1024 * KIB + 17, 9);
    let http = reqwest::Client::new();
    for req in [
        http.put(format!("{}/__sink", mock.base_url())),
        http.post(format!("{}/__sink", mock.base_url())),
    ] {
        let resp: Value = req
            .body(data.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(resp["bytes"], data.len() as u64);
        assert_eq!(resp["sha1"], sha1_hex(&data));
    }
}

/// Two slices of one upload in flight at once: the mock reports it (the doc leaves this unconfirmed).
#[tokio::test]
async fn concurrent_slices_are_counted() {
    let mock = XfyunMock::start(small_slices()).await;
    let c = Arc::new(Client::new(&mock));
    let up = c.init().await;
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = Vec::new();
    for slice_id in [1u32, 2] {
        let (c, up, barrier) = (c.clone(), up.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let boundary = format!("b{slice_id}x");
            let size = if slice_id == 1 { 64 * KIB } else { 10 };
            let (head, tail) =
                raw_slice_body(&boundary, &up, slice_id, &vec![slice_id as u8; size]);
            // Each request sends its first half, then waits until both are in flight.
            let chunks = futures_util::stream::unfold(0, move |step| {
                let (head, tail, barrier) = (head.clone(), tail.clone(), barrier.clone());
                async move {
                    match step {
                        0 => Some((Ok::<_, std::io::Error>(head), 1)),
                        1 => {
                            barrier.wait().await;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            Some((Ok(tail), 2))
                        }
                        _ => None,
                    }
                }
            });
            let req = c
                .signed(UPLOAD_PATH)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(reqwest::Body::wrap_stream(chunks));
            Client::envelope(req).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap()["code"], 0);
    }
    assert_eq!(c.complete(&up).await["code"], 0);
    assert_eq!(mock.stats().max_concurrent_slices_per_upload, 2);
}

/// A hand-built multipart body split in two (data first, as the doc recommends).
fn raw_slice_body(
    boundary: &str,
    upload_id: &str,
    slice_id: u32,
    data: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    for (name, value) in [
        ("app_id", APP_ID),
        ("request_id", "r"),
        ("upload_id", upload_id),
        ("slice_id", &slice_id.to_string()),
    ] {
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}").as_bytes());
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let tail = body.split_off(body.len() / 2);
    (body, tail)
}

#[tokio::test]
async fn binary_prints_its_address_and_serves() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferry-mock"))
        .args([
            "xfyun",
            "--port",
            "0",
            "--app-id",
            APP_ID,
            "--api-key",
            KEY,
            "--api-secret",
            SECRET,
            "--oneshot-max",
            "10",
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        tokio::io::BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("address printed")
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let state: Value = reqwest::get(format!("{base}/__mock/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["stats"]["inits"], 0);
    let data_dir = std::path::PathBuf::from(state["data_dir"].as_str().unwrap());
    assert!(data_dir.is_dir());
    // SIGTERM (what harnesses send) stops it cleanly and removes its temp data dir.
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!data_dir.exists(), "{} left behind", data_dir.display());
}

#[tokio::test]
async fn a_rotated_secret_refuses_the_old_one_and_accepts_the_new() {
    let mock = XfyunMock::start(XfyunConfig::default()).await;
    let mut client = Client::new(&mock);
    let body = json!({ "app_id": client.app_id, "request_id": uuid_like(), "cloud_id": "0" });
    assert_eq!(client.json(INIT_PATH, body.clone()).await["code"], 0);

    mock.rotate_secret("a-new-secret");
    let resp = client.signed(INIT_PATH).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 401, "the old secret is refused at once");
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["message"], "HMAC signature does not match");

    client.secret = "a-new-secret".into();
    let body = json!({ "app_id": client.app_id, "request_id": uuid_like(), "cloud_id": "0" });
    assert_eq!(client.json(INIT_PATH, body).await["code"], 0, "the new one works");
}
