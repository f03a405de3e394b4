//! The PDS mock checked against `shared/providers/pds.md`, with a test-only client.

use std::time::Duration;

use ferry_mock_providers::pds::{
    COMPLETE_PATH, CREATE_PATH, GET_UPLOAD_URL_PATH, LIST_PARTS_PATH, TOKEN_PATH,
};
use ferry_mock_providers::{FaultAction, FaultRule, PdsConfig, PdsMock};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn sha1_upper(b: &[u8]) -> String {
    hex_upper(&Sha1::digest(b))
}

/// Reproducible bytes.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// SHA-1 chaining state after `data` (a multiple of 64 bytes), computed with `sha1::compress`.
fn midstate(data: &[u8]) -> [u32; 5] {
    let mut h = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    for block in data.chunks_exact(64) {
        sha1::compress(
            &mut h,
            std::slice::from_ref(sha1::digest::generic_array::GenericArray::from_slice(block)),
        );
    }
    h
}

struct Client {
    http: reqwest::Client,
    base: String,
    access: String,
    refresh: String,
}

impl Client {
    async fn new(mock: &PdsMock) -> Client {
        let mut c = Client {
            http: reqwest::Client::new(),
            base: mock.base_url(),
            access: String::new(),
            refresh: mock.config().refresh_token.clone(),
        };
        let (status, v) = c.token(mock, &c.refresh.clone()).await;
        assert_eq!(status, 200, "{v}");
        c.access = v["access_token"].as_str().unwrap().into();
        c.refresh = v["refresh_token"].as_str().unwrap().into();
        c
    }

    async fn token(&self, mock: &PdsMock, refresh: &str) -> (u16, Value) {
        let cfg = mock.config();
        let body = format!(
            "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={refresh}",
            cfg.client_id, cfg.client_secret
        );
        let r = self
            .http
            .post(format!("{}{TOKEN_PATH}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn call(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            r.headers().contains_key("x-ca-request-id"),
            "every answer names its request"
        );
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// PUT raw bytes to a part URL, as the doc says (no Authorization, no Content-Type).
    async fn put(&self, url: &str, data: Vec<u8>) -> (u16, String) {
        let r = self.http.put(url).body(data).send().await.unwrap();
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = r.text().await.unwrap();
        (status, etag.unwrap_or(text))
    }
}

fn create_body(name: &str, size: u64, parts: Vec<Value>) -> Value {
    json!({ "drive_id": "1", "parent_file_id": "root", "name": name, "type": "file", "size": size, "part_info_list": parts })
}

fn serial_parts(size: u64, part: u64) -> Vec<Value> {
    let n = size.div_ceil(part).max(1);
    (1..=n)
        .map(|i| json!({ "part_number": i, "part_size": part.min(size - (i - 1) * part) }))
        .collect()
}

fn url_of(created: &Value, n: usize) -> String {
    created["part_info_list"][n - 1]["upload_url"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn small_parts() -> PdsConfig {
    PdsConfig {
        min_part: 64,
        ..PdsConfig::default()
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_the_old_one_dies_once_the_new_grant_is_used() {
    let mock = PdsMock::start(PdsConfig::default()).await;
    let first = mock.config().refresh_token.clone();
    let c = Client::new(&mock).await;
    assert_ne!(
        c.refresh, first,
        "a new refresh token comes with every grant"
    );
    // Until the new grant is used, the old token still works (a crash before saving is safe)…
    assert!(mock.valid_refresh_tokens().contains(&first));
    let (s, _) = c.call("/v2/drive/get", json!({ "drive_id": "1" })).await;
    assert_eq!(s, 200);
    // …after, only the new one.
    assert_eq!(mock.current_refresh_token(), c.refresh);
    let (s, v) = c.token(&mock, &first).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("RefreshTokenExpired")),
        "{v}"
    );
    let (s, v) = c.token(&mock, &c.refresh).await;
    assert_eq!(s, 200, "{v}");
    // Wrong client secret, unknown token, missing Bearer, expired access token.
    let r = c
        .http
        .post(format!("{}{TOKEN_PATH}", c.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&client_id=x&client_secret=y&refresh_token=z")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .http
        .post(format!("{}/v2/drive/get", c.base))
        .json(&json!({ "drive_id": "1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "AccessTokenInvalid"
    );
    mock.expire_access_tokens();
    let (s, v) = c.call("/v2/drive/get", json!({ "drive_id": "1" })).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("AccessTokenExpired")));
    assert!(mock.stats().token_rejections >= 2);
}

#[tokio::test]
async fn serial_upload_in_order_with_strict_part_urls() {
    let mock = PdsMock::start(small_parts()).await;
    let c = Client::new(&mock).await;
    let data = pattern(1000, 7);
    let body = create_body("a.bin", 1000, serial_parts(1000, 400));
    let (s, created) = c.call(CREATE_PATH, body).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["rapid_upload"], false);
    let (file_id, upload_id) = (
        created["file_id"].as_str().unwrap().to_owned(),
        created["upload_id"].as_str().unwrap().to_owned(),
    );
    let ids = json!({ "drive_id": "1", "file_id": file_id, "upload_id": upload_id });

    // Out of order: PartNotSequential.
    let (s, text) = c.put(&url_of(&created, 2), data[400..800].to_vec()).await;
    assert_eq!(s, 400);
    assert!(text.contains("<Code>PartNotSequential</Code>"), "{text}");
    // Authorization or Content-Type on a part URL: refused.
    let r = c
        .http
        .put(url_of(&created, 1))
        .bearer_auth("x")
        .body(data[..400].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .http
        .put(url_of(&created, 1))
        .header("content-type", "application/octet-stream")
        .body(data[..400].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("SignatureDoesNotMatch"));
    // A tampered URL.
    let (s, _) = c
        .put(
            &url_of(&created, 1).replace("partNumber=1", "partNumber=2"),
            data[..400].to_vec(),
        )
        .await;
    assert_eq!(s, 403);
    // Chunked (no Content-Length): refused.
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(bytes_of(&data[..400]))]);
    let r = c
        .http
        .put(url_of(&created, 1))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 411);

    let (s, etag1) = c.put(&url_of(&created, 1), data[..400].to_vec()).await;
    assert_eq!(s, 200, "{etag1}");
    assert!(etag1.starts_with('"'), "an ETag comes back: {etag1}");
    // A re-send of a stored serial part: PartAlreadyExist.
    let (s, text) = c.put(&url_of(&created, 1), data[..400].to_vec()).await;
    assert_eq!(s, 409);
    assert!(text.contains("PartAlreadyExist"), "{text}");
    // Expired URLs are refused; get_upload_url gives new ones.
    mock.expire_upload_urls();
    let (s, text) = c.put(&url_of(&created, 2), data[400..800].to_vec()).await;
    assert_eq!(s, 403);
    assert!(text.contains("Request has expired"), "{text}");
    let mut body = ids.clone();
    body["part_info_list"] = json!([{ "part_number": 2 }, { "part_number": 3 }]);
    let (s, fresh) = c.call(GET_UPLOAD_URL_PATH, body).await;
    assert_eq!(s, 200, "{fresh}");
    assert_eq!(
        c.put(&url_of(&fresh, 1), data[400..800].to_vec()).await.0,
        200
    );
    // Complete too early: part 3 is missing.
    let (s, v) = c.call(COMPLETE_PATH, ids.clone()).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(c.put(&url_of(&fresh, 2), data[800..].to_vec()).await.0, 200);
    let (s, file) = c.call(COMPLETE_PATH, ids.clone()).await;
    assert_eq!(s, 200, "{file}");
    assert_eq!(file["size"], 1000);
    assert_eq!(file["content_hash"], sha1_upper(&data));
    assert_eq!(file["status"], "available");
    let stored = std::fs::read(mock.file_path(&file_id).unwrap()).unwrap();
    assert_eq!(stored, data, "byte-exact");
    let (s, v) = c.call(COMPLETE_PATH, ids).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("NotFound.UploadId")),
        "a completed upload is gone"
    );
    let st = mock.stats();
    assert_eq!(st.part_bytes_accepted, 1000);
    assert_eq!(st.max_concurrent_parts_per_upload, 1);
    assert!(
        st.part_bytes_received >= 1800,
        "re-sent and refused bytes are counted as received: {st:?}"
    );
}

fn bytes_of(b: &[u8]) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(b)
}

#[tokio::test]
async fn pre_hash_probe_then_rapid_upload_of_held_content() {
    let mock = PdsMock::start(PdsConfig::default()).await;
    let c = Client::new(&mock).await;
    let data = pattern(5000, 3);
    mock.hold_content(&data);
    let mut probe = create_body("copy.bin", 5000, serial_parts(5000, 5000));
    probe["pre_hash"] = sha1_upper(&data[..1024]).into();
    let (s, v) = c.call(CREATE_PATH, probe.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("PreHashMatched")),
        "{v}"
    );
    assert_eq!(v["pre_hash"], sha1_upper(&data[..1024]));
    // A different size with the same head does not match.
    let mut other = probe.clone();
    other["size"] = 5001.into();
    other["part_info_list"] = json!(serial_parts(5001, 5001));
    assert_eq!(c.call(CREATE_PATH, other).await.0, 201);
    let mut full = create_body("copy.bin", 5000, serial_parts(5000, 5000));
    full["content_hash"] = sha1_upper(&data).into();
    full["content_hash_name"] = "sha1".into();
    let (s, v) = c.call(CREATE_PATH, full).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["rapid_upload"], true);
    assert!(v.get("part_info_list").is_none(), "nothing to upload");
    let f = mock
        .files()
        .into_iter()
        .find(|f| f.file_id == v["file_id"].as_str().unwrap())
        .unwrap();
    assert!(f.rapid);
    assert_eq!(f.sha1, sha1_upper(&data).to_ascii_lowercase());
    let st = mock.stats();
    assert_eq!(
        (
            st.pre_hash_matches,
            st.rapid_uploads,
            st.part_bytes_received
        ),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn parallel_mode_checks_every_mid_state_and_the_content_hash() {
    let mock = PdsMock::start(small_parts()).await;
    let c = Client::new(&mock).await;
    // The doc's test vector: 789 bytes in 128-byte parts.
    let data: Vec<u8> = (0..100)
        .map(|i| format!("test-{i}"))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    assert_eq!(
        midstate(&data[..768]),
        [2781477636, 2167910136, 4107292220, 1153442652, 2872263382]
    );
    let parts: Vec<Value> = (0..7)
        .map(|i| {
            let h: Vec<u32> = if i == 0 { vec![] } else { midstate(&data[..i * 128]).to_vec() };
            json!({ "part_number": i + 1, "part_size": 128.min(789 - i * 128), "parallel_sha1_ctx": { "h": h, "part_offset": i * 128 } })
        })
        .collect();
    let mut body = create_body("p.txt", 789, parts.clone());
    body["parallel_upload"] = true.into();
    body["content_hash"] = "392AF61CCA9BC02502B0BB03B45ABD78601DD1DF".into();
    body["content_hash_name"] = "sha1".into();
    // A wrong mid-state is refused at create… (offset not a multiple of 64)
    let mut bad = body.clone();
    bad["part_info_list"][1]["parallel_sha1_ctx"]["part_offset"] = 100.into();
    assert_eq!(c.call(CREATE_PATH, bad).await.0, 400);
    let (s, created) = c.call(CREATE_PATH, body.clone()).await;
    assert_eq!(s, 201, "{created}");
    // Parts in any order, at once.
    let mut puts = vec![];
    for i in (0..7).rev() {
        let url = url_of(&created, i + 1);
        let chunk = data[i * 128..(i * 128 + 128).min(789)].to_vec();
        let c2 = reqwest::Client::new();
        puts.push(tokio::spawn(async move {
            c2.put(url)
                .body(chunk)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for p in puts {
        assert_eq!(p.await.unwrap(), 200);
    }
    let ids = json!({ "drive_id": "1", "file_id": created["file_id"], "upload_id": created["upload_id"] });
    let (s, file) = c.call(COMPLETE_PATH, ids).await;
    assert_eq!(s, 200, "{file}");
    assert_eq!(
        file["content_hash"],
        "392AF61CCA9BC02502B0BB03B45ABD78601DD1DF"
    );

    // Bytes that do not continue the declared mid-state are refused.
    let mut other = body.clone();
    other["name"] = "q.txt".into();
    // (Without content_hash: the mock holds that content now, which would be a rapid upload.)
    other.as_object_mut().unwrap().remove("content_hash");
    let (_, created) = c.call(CREATE_PATH, other).await;
    let mut wrong = data[128..256].to_vec();
    wrong[5] ^= 1;
    let (s, text) = c.put(&url_of(&created, 2), wrong).await;
    assert_eq!(s, 400);
    assert!(text.contains("InvalidDigest"), "{text}");
    assert_eq!(mock.stats().ctx_mismatches, 1);
    // get_upload_url must carry the same mid-state again.
    let ids = json!({ "drive_id": "1", "file_id": created["file_id"], "upload_id": created["upload_id"] });
    let mut req = ids.clone();
    req["part_info_list"] = json!([{ "part_number": 3 }]);
    assert_eq!(c.call(GET_UPLOAD_URL_PATH, req.clone()).await.0, 400);
    req["part_info_list"] = json!([parts[2].clone()]);
    assert_eq!(c.call(GET_UPLOAD_URL_PATH, req).await.0, 200);

    // A domain without parallel mode says so.
    mock.set_parallel_supported(false);
    let (s, v) = c.call(CREATE_PATH, body).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("InvalidParameterNotSupported.ParallelUpload"))
    );
}

#[tokio::test]
async fn list_uploaded_parts_pages_with_a_marker() {
    let mock = PdsMock::start(PdsConfig {
        list_page_max: 2,
        ..small_parts()
    })
    .await;
    let c = Client::new(&mock).await;
    let data = pattern(500, 9);
    let (_, created) = c
        .call(
            CREATE_PATH,
            create_body("l.bin", 500, serial_parts(500, 100)),
        )
        .await;
    for i in 0..4 {
        assert_eq!(
            c.put(
                &url_of(&created, i + 1),
                data[i * 100..i * 100 + 100].to_vec()
            )
            .await
            .0,
            200
        );
    }
    let ids = json!({ "drive_id": "1", "file_id": created["file_id"], "upload_id": created["upload_id"] });
    let mut seen = vec![];
    let mut marker: Option<u64> = None;
    loop {
        let mut body = ids.clone();
        body["limit"] = 100.into();
        if let Some(m) = marker {
            body["part_number_marker"] = m.into();
        }
        let (s, page) = c.call(LIST_PARTS_PATH, body).await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(page["parallel_upload"], false);
        for p in page["uploaded_parts"].as_array().unwrap() {
            assert_eq!(p["part_size"], 100);
            assert!(p["etag"].as_str().unwrap().starts_with('"'));
            seen.push(p["part_number"].as_u64().unwrap());
        }
        match page["next_part_number_marker"].as_str().unwrap() {
            "" => break,
            m => marker = Some(m.parse().unwrap()),
        }
    }
    assert_eq!(seen, [1, 2, 3, 4]);
    let mut bad = ids.clone();
    bad["limit"] = 101.into();
    assert_eq!(
        c.call(LIST_PARTS_PATH, bad).await.0,
        400,
        "limit is 1..=100"
    );
    let mut bad = ids;
    bad["part_number_marker"] = "".into();
    assert_eq!(
        c.call(LIST_PARTS_PATH, bad).await.1["code"],
        "InvalidRequestJSONFormat"
    );
    assert_eq!(mock.stats().list_pages, 2);
}

#[tokio::test]
async fn complete_checks_the_declared_content_hash_and_sizes() {
    let mock = PdsMock::start(PdsConfig {
        min_part: 300,
        ..PdsConfig::default()
    })
    .await;
    let c = Client::new(&mock).await;
    let data = pattern(500, 11);
    let mut body = create_body("h.bin", 500, serial_parts(500, 250));
    body["content_hash"] = sha1_upper(b"something else").into();
    let (_, created) = c.call(CREATE_PATH, body).await;
    assert_eq!(
        c.put(&url_of(&created, 1), data[..250].to_vec()).await.0,
        200
    );
    assert_eq!(
        c.put(&url_of(&created, 2), data[250..].to_vec()).await.0,
        200
    );
    let ids = json!({ "drive_id": "1", "file_id": created["file_id"], "upload_id": created["upload_id"] });
    let (s, v) = c.call(COMPLETE_PATH, ids).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["code"], "EntityTooSmall",
        "250-byte parts are below the 300-byte minimum"
    );

    let mock = PdsMock::start(small_parts()).await;
    let c = Client::new(&mock).await;
    let mut body = create_body("h.bin", 500, serial_parts(500, 250));
    body["content_hash"] = sha1_upper(b"something else").into();
    let (_, created) = c.call(CREATE_PATH, body).await;
    assert_eq!(
        c.put(&url_of(&created, 1), data[..250].to_vec()).await.0,
        200
    );
    assert_eq!(
        c.put(&url_of(&created, 2), data[250..].to_vec()).await.0,
        200
    );
    let ids = json!({ "drive_id": "1", "file_id": created["file_id"], "upload_id": created["upload_id"] });
    let (s, v) = c.call(COMPLETE_PATH, ids).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("InvalidParameterNotMatch.ContentHash")),
        "{v}"
    );
}

#[tokio::test]
async fn names_quota_and_injected_faults() {
    let mock = PdsMock::start(PdsConfig {
        drive_quota: 10_000,
        ..small_parts()
    })
    .await;
    let c = Client::new(&mock).await;
    mock.hold_content(&pattern(100, 1));
    let mut body = create_body("n.bin", 100, serial_parts(100, 100));
    body["content_hash"] = sha1_upper(&pattern(100, 1)).into();
    assert_eq!(
        c.call(CREATE_PATH, body.clone()).await.1["rapid_upload"],
        true
    );
    body["check_name_mode"] = "refuse".into();
    let (s, v) = c.call(CREATE_PATH, body.clone()).await;
    assert_eq!((s, &v["exist"]), (201, &json!(true)), "{v}");
    body["check_name_mode"] = "auto_rename".into();
    let (_, v) = c.call(CREATE_PATH, body.clone()).await;
    assert_ne!(v["file_name"], "n.bin");
    body["check_name_mode"] = "overwrite".into();
    assert_eq!(
        c.call(CREATE_PATH, body.clone()).await.0,
        400,
        "overwrite is not a PDS value"
    );
    let big = create_body("big.bin", 20_000, serial_parts(20_000, 20_000));
    assert_eq!(
        c.call(CREATE_PATH, big).await.1["code"],
        "QuotaExhausted.Drive"
    );
    let mut nofolder = create_body("x", 1, serial_parts(1, 1));
    nofolder["parent_file_id"] = "nope".into();
    assert_eq!(c.call(CREATE_PATH, nofolder).await.0, 404);

    mock.faults()
        .push(
            FaultRule::on(
                CREATE_PATH,
                FaultAction::Throttle {
                    retry_after_secs: 2,
                },
            )
            .times(1),
        )
        .unwrap();
    mock.faults()
        .push(
            FaultRule::on(
                CREATE_PATH,
                FaultAction::BusinessError {
                    code: 403,
                    message: Some("ForbiddenNoPermission".into()),
                },
            )
            .times(1),
        )
        .unwrap();
    let r = c
        .http
        .post(format!("{}{CREATE_PATH}", c.base))
        .bearer_auth(&c.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    let (s, v) = c.call(CREATE_PATH, body).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("ForbiddenNoPermission"))
    );
    assert_eq!(mock.stats().faults_injected, 2);
    let _ = Duration::ZERO;
}

#[tokio::test]
async fn folders_follow_folders_md_section_3() {
    let mock = PdsMock::start(PdsConfig::default()).await;
    let c = Client::new(&mock).await;
    let drive = mock.config().drive_id.clone();
    let folder = |name: &str, parent: &str| json!({ "drive_id": drive, "parent_file_id": parent, "name": name, "type": "folder", "check_name_mode": "refuse" });
    let (s, made) = c.call(CREATE_PATH, folder("reports", "root")).await;
    assert_eq!(s, 201, "{made}");
    let id = made["file_id"].as_str().unwrap().to_owned();
    let (_, again) = c.call(CREATE_PATH, folder("reports", "root")).await;
    assert_eq!(again["exist"], true, "refuse answers the folder already there");
    assert_eq!(again["file_id"].as_str(), Some(id.as_str()));
    for n in ["c", "a", "b"] {
        assert_eq!(c.call(CREATE_PATH, folder(n, &id)).await.0, 201);
    }
    assert_eq!(mock.stats().folders_made, 4);
    assert_eq!(mock.stats().folder_creates, 5);

    let list = |marker: Option<&str>| {
        let mut body = json!({ "drive_id": drive, "parent_file_id": id, "limit": 2, "order_by": "name", "type": "folder" });
        if let Some(m) = marker {
            body["marker"] = m.into();
        }
        c.call("/v2/file/list", body)
    };
    let (s, first) = list(None).await;
    assert_eq!(s, 200, "{first}");
    let names = |v: &Value| v["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&first), ["a", "b"]);
    let marker = first["next_marker"].as_str().unwrap().to_owned();
    assert!(!marker.is_empty() && marker.parse::<u64>().is_err(), "an opaque marker: {marker}");
    let (_, rest) = list(Some(&marker)).await;
    assert_eq!(names(&rest), ["c"]);
    assert_eq!(rest["next_marker"], "", "empty = no more pages");
    let (s, _) = c.call("/v2/file/list", json!({ "drive_id": drive, "parent_file_id": id, "limit": 101 })).await;
    assert_eq!(s, 400, "limit is 1..100");
    let (s, _) = c.call("/v2/file/list", json!({ "drive_id": drive, "parent_file_id": "nope" })).await;
    assert_eq!(s, 404);
}

/// Behind a gateway: every route answers only under the mount prefix, and the part URLs it
/// signs point under it too.
#[tokio::test]
async fn a_mounted_mock_answers_only_under_its_prefix() {
    let mock = PdsMock::start(PdsConfig { path_prefix: "/gw/pds/".into(), ..PdsConfig::default() }).await;
    let base = mock.base_url();
    assert!(base.ends_with("/gw/pds"), "{base}");
    let root = base.trim_end_matches("/gw/pds").to_owned();
    let http = reqwest::Client::new();
    let form = "grant_type=refresh_token";
    let post = |url: String| http.post(url).header("content-type", "application/x-www-form-urlencoded").body(form).send();
    assert_eq!(post(format!("{root}{TOKEN_PATH}")).await.unwrap().status(), 404, "outside the prefix");
    assert_eq!(post(format!("{root}/gw/pdsx{TOKEN_PATH}")).await.unwrap().status(), 404, "a longer first segment is not the prefix");
    let inside = post(format!("{base}{TOKEN_PATH}")).await.unwrap();
    assert_ne!(inside.status(), 404, "under the prefix the token endpoint answers (here: refusing the grant)");
}
