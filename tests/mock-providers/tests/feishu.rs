//! The Feishu mock checked against `shared/providers/feishu.md`, with a test-only client
//! (nothing here comes from Ferry's provider).

use std::time::Duration;

use ferry_mock_providers::feishu::{self, FeishuConfig, FeishuMock, DEFAULT_FOLDER};
use ferry_mock_providers::{FaultAction, FaultRule};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use sha1::Digest as _;

const MIB: usize = 1 << 20;

fn adler32(bytes: &[u8]) -> u32 {
    // Straight from RFC 1950, one byte at a time.
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(7) as u8 ^ seed)
        .collect()
}

fn sha1_hex(bytes: &[u8]) -> String {
    sha1::Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn code(&self) -> i64 {
        self.body["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no code in {}", self.body))
    }
}

impl Client {
    async fn new(mock: &FeishuMock) -> Client {
        let mut c = Client {
            http: reqwest::Client::new(),
            base: mock.base_url(),
            token: String::new(),
        };
        let cfg = mock.config();
        let a = c
            .get_token(&cfg.app_id.clone(), &cfg.app_secret.clone())
            .await;
        assert_eq!(a.code(), 0, "{}", a.body);
        c.token = a.body["tenant_access_token"].as_str().unwrap().to_owned();
        c
    }

    async fn get_token(&self, app_id: &str, secret: &str) -> Answer {
        let req = self
            .http
            .post(format!("{}{}", self.base, feishu::TOKEN_PATH))
            .json(&json!({ "app_id": app_id, "app_secret": secret }));
        answer(req).await
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn json(&self, path: &str, body: Value) -> Answer {
        answer(self.post(path).json(&body)).await
    }

    async fn form(&self, path: &str, form: Form) -> Answer {
        answer(self.post(path).multipart(form)).await
    }

    async fn upload_all(&self, name: &str, bytes: &[u8], checksum: Option<u32>) -> Answer {
        let mut form = Form::new()
            .text("file_name", name.to_owned())
            .text("parent_type", "explorer")
            .text("parent_node", DEFAULT_FOLDER)
            .text("size", bytes.len().to_string());
        if let Some(c) = checksum {
            form = form.text("checksum", c.to_string());
        }
        self.form(
            feishu::FILES_UPLOAD_ALL,
            form.part("file", file(bytes.to_vec())),
        )
        .await
    }

    async fn prepare(&self, name: &str, size: u64) -> (String, u64, u64) {
        let a = self
            .json(feishu::FILES_PREPARE, json!({ "file_name": name, "parent_type": "explorer", "parent_node": DEFAULT_FOLDER, "size": size }))
            .await;
        assert_eq!(a.code(), 0, "{}", a.body);
        let d = &a.body["data"];
        (
            d["upload_id"].as_str().unwrap().to_owned(),
            d["block_size"].as_u64().unwrap(),
            d["block_num"].as_u64().unwrap(),
        )
    }

    fn part_form(
        upload_id: &str,
        seq: u64,
        bytes: &[u8],
        size: Option<usize>,
        checksum: Option<u32>,
    ) -> Form {
        let mut form = Form::new()
            .text("upload_id", upload_id.to_owned())
            .text("seq", seq.to_string())
            .text("size", size.unwrap_or(bytes.len()).to_string());
        if let Some(c) = checksum {
            form = form.text("checksum", c.to_string());
        }
        form.part("file", file(bytes.to_vec()))
    }

    async fn part(&self, upload_id: &str, seq: u64, bytes: &[u8]) -> Answer {
        self.form(
            feishu::FILES_PART,
            Self::part_form(upload_id, seq, bytes, None, Some(adler32(bytes))),
        )
        .await
    }

    async fn finish(&self, upload_id: &str, block_num: u64) -> Answer {
        self.json(
            feishu::FILES_FINISH,
            json!({ "upload_id": upload_id, "block_num": block_num }),
        )
        .await
    }
}

fn file(bytes: Vec<u8>) -> Part {
    Part::bytes(bytes)
        .file_name("blob")
        .mime_str("application/octet-stream")
        .unwrap()
}

async fn answer(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("transport");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.expect("a JSON body");
    Answer {
        status,
        body,
        headers,
    }
}

fn stored_sha1(mock: &FeishuMock, token: &str) -> String {
    sha1_hex(&std::fs::read(mock.object_path(token).expect("stored")).unwrap())
}

/// A mock without the 5-a-second limit, for tests that are not about it.
fn unthrottled() -> FeishuConfig {
    FeishuConfig {
        qps: 1_000,
        ..FeishuConfig::default()
    }
}

// ------------------------------------------------------------------ §1a token

#[tokio::test]
async fn tokens_follow_the_documented_lifetime_rules() {
    let mock = FeishuMock::start(FeishuConfig::default()).await;
    let c = Client::new(&mock).await;
    assert!(c.token.starts_with("t-"));
    let wrong = c.get_token("cli_slkdjalasdkjasd", "nope").await;
    assert_ne!(wrong.code(), 0);
    // ≥ 30 minutes left: the same token comes back, with its remaining lifetime.
    let again = c
        .get_token("cli_slkdjalasdkjasd", "dskLLdkasdjlasdKK")
        .await;
    assert_eq!(again.body["tenant_access_token"], c.token.as_str());
    assert!(again.body["expire"].as_u64().unwrap() <= 7200);
    assert_eq!(mock.stats().tokens_issued, 1);

    // A short lifetime: past half of it a new token is issued and the old one still works.
    let short = FeishuMock::start(FeishuConfig {
        token_ttl: Duration::from_millis(1_200),
        ..unthrottled()
    })
    .await;
    let c1 = Client::new(&short).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let c2 = Client::new(&short).await;
    assert_ne!(c1.token, c2.token);
    assert_eq!(
        c1.prepare("a", 1).await.1,
        4 << 20,
        "the old token is still valid"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let a = c1.json(feishu::FILES_PREPARE, json!({})).await;
    assert_eq!(
        a.code(),
        feishu::TENANT_TOKEN_INVALID,
        "expired: {}",
        a.body
    );
}

#[tokio::test]
async fn drive_calls_need_a_valid_bearer_token() {
    let mock = FeishuMock::start(unthrottled()).await;
    let mut c = Client::new(&mock).await;
    let good = c.token.clone();
    c.token = String::new();
    let a = answer(
        c.http
            .post(format!("{}{}", c.base, feishu::FILES_PREPARE))
            .json(&json!({})),
    )
    .await;
    assert_eq!((a.status, a.code()), (200, feishu::MISSING_TOKEN));
    c.token = "t-forged".into();
    assert_eq!(
        c.json(feishu::FILES_PREPARE, json!({})).await.code(),
        feishu::TENANT_TOKEN_INVALID
    );
    c.token = good;
    mock.expire_tokens();
    assert_eq!(
        c.upload_all("a", b"x", None).await.code(),
        feishu::TENANT_TOKEN_INVALID
    );
    assert_eq!(mock.stats().token_refusals, 3);
}

// ------------------------------------------------------------------ §2 upload_all

#[tokio::test]
async fn upload_all_checks_size_checksum_name_and_folder() {
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let data = pattern(300_000, 1);
    let ok = c.upload_all("a.bin", &data, Some(adler32(&data))).await;
    assert_eq!((ok.status, ok.code()), (200, 0), "{}", ok.body);
    assert!(ok.headers.contains_key("x-tt-logid"));
    let token = ok.body["data"]["file_token"].as_str().unwrap();
    assert_eq!(stored_sha1(&mock, token), sha1_hex(&data));
    // The checksum is optional; an empty file is fine.
    assert_eq!(c.upload_all("empty", b"", None).await.code(), 0);

    let bad = c.upload_all("a.bin", &data, Some(adler32(&data) ^ 1)).await;
    assert_eq!(
        (bad.status, bad.code()),
        (200, feishu::CHECKSUM_INVALID),
        "failures come as HTTP 200"
    );
    let form = Form::new()
        .text("file_name", "a")
        .text("parent_type", "explorer")
        .text("parent_node", DEFAULT_FOLDER)
        .text("size", "10")
        .part("file", file(vec![1; 9]));
    assert_eq!(
        c.form(feishu::FILES_UPLOAD_ALL, form).await.code(),
        feishu::SIZE_MISMATCH
    );
    assert_eq!(
        c.upload_all(&"n".repeat(251), b"x", None).await.code(),
        feishu::INVALID_FILE_NAME
    );
    let other_folder = Form::new()
        .text("file_name", "a")
        .text("parent_type", "explorer")
        .text("parent_node", "fldNOPE")
        .text("size", "1")
        .part("file", file(vec![1]));
    assert_eq!(
        c.form(feishu::FILES_UPLOAD_ALL, other_folder).await.code(),
        feishu::PARENT_NOT_EXIST
    );
    let not_explorer = Form::new()
        .text("file_name", "a")
        .text("parent_type", "docx_file")
        .text("parent_node", DEFAULT_FOLDER)
        .text("size", "1")
        .part("file", file(vec![1]));
    assert_eq!(
        c.form(feishu::FILES_UPLOAD_ALL, not_explorer).await.code(),
        feishu::PARAMS_ERROR
    );
    assert_eq!(mock.objects().len(), 2, "refused uploads store nothing");
}

#[tokio::test]
async fn upload_all_takes_20_mib_and_not_a_byte_more() {
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let exact = pattern(20 * MIB, 2);
    let a = c.upload_all("exact", &exact, Some(adler32(&exact))).await;
    assert_eq!(a.code(), 0, "{}", a.body);
    assert_eq!(
        stored_sha1(&mock, a.body["data"]["file_token"].as_str().unwrap()),
        sha1_hex(&exact)
    );
    let over = pattern(20 * MIB + 1, 3);
    let a = c.upload_all("over", &over, Some(adler32(&over))).await;
    assert_eq!(a.code(), feishu::PARAMS_ERROR, "{}", a.body);
    assert!(a.body["msg"].as_str().unwrap().contains("upload_prepare"));
}

// ------------------------------------------------------------------ §4–§6 multipart

#[tokio::test]
async fn prepare_part_finish_assembles_the_blocks_in_seq_order() {
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let data = pattern(9 * MIB + 12_345, 4);
    let (id, block_size, block_num) = c.prepare("big.zip", data.len() as u64).await;
    assert_eq!((block_size, block_num), (4 << 20, 3));
    let blocks: Vec<&[u8]> = data.chunks(block_size as usize).collect();
    // Out of order is allowed; a re-sent block replaces the earlier copy.
    for seq in [2u64, 0, 1, 1] {
        let a = c.part(&id, seq, blocks[seq as usize]).await;
        assert_eq!(a.code(), 0, "seq {seq}: {}", a.body);
    }
    let done = c.finish(&id, block_num).await;
    assert_eq!(done.code(), 0, "{}", done.body);
    let token = done.body["data"]["file_token"].as_str().unwrap();
    assert_eq!(stored_sha1(&mock, token), sha1_hex(&data));
    // The upload id is used up.
    assert_eq!(
        c.finish(&id, block_num).await.code(),
        feishu::UPLOAD_ID_EXPIRED
    );
    let s = mock.stats();
    assert_eq!(
        (
            s.prepares_ok,
            s.parts_ok,
            s.parts_with_checksum,
            s.finishes_ok
        ),
        (1, 4, 4, 1)
    );
    assert_eq!(
        s.part_calls
            .iter()
            .map(|p| p.seq.unwrap())
            .collect::<Vec<_>>(),
        [2, 0, 1, 1]
    );
}

#[tokio::test]
async fn upload_part_checks_seq_size_and_checksum_and_finish_checks_every_block() {
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let data = pattern(4 * MIB + 10, 5);
    let (id, bs, n) = c.prepare("f", data.len() as u64).await;
    let (b0, b1) = data.split_at(bs as usize);
    assert_eq!(c.part(&id, 2, b1).await.code(), feishu::BLOCK_OUT_OF_BOUNDS);
    let short = Client::part_form(&id, 1, b1, Some(b1.len() + 1), None);
    assert_eq!(
        c.form(feishu::FILES_PART, short).await.code(),
        feishu::SIZE_MISMATCH
    );
    // A block that is not the planned size.
    assert_eq!(c.part(&id, 1, &b1[..5]).await.code(), feishu::PARAMS_ERROR);
    let corrupt = Client::part_form(&id, 1, b1, None, Some(adler32(b1).wrapping_add(1)));
    assert_eq!(
        c.form(feishu::FILES_PART, corrupt).await.code(),
        feishu::CHECKSUM_INVALID
    );
    assert_eq!(
        c.part("7100000000000000000", 0, b0).await.code(),
        feishu::UPLOAD_ID_EXPIRED
    );
    assert_eq!(c.part(&id, 1, b1).await.code(), 0);
    let missing = c.finish(&id, n).await;
    assert_eq!(missing.code(), feishu::BLOCK_MISSING, "{}", missing.body);
    assert_eq!(c.finish(&id, n + 1).await.code(), feishu::PARAMS_ERROR);
    assert_eq!(c.part(&id, 0, b0).await.code(), 0);
    assert_eq!(c.finish(&id, n).await.code(), 0);
    assert_eq!(mock.stats().checksum_mismatches, 1);
}

#[tokio::test]
async fn upload_ids_expire() {
    let mock = FeishuMock::start(FeishuConfig {
        upload_ttl: Duration::from_millis(300),
        ..unthrottled()
    })
    .await;
    let c = Client::new(&mock).await;
    let (id, _, _) = c.prepare("f", 10).await;
    assert_eq!(c.part(&id, 0, &[7; 10]).await.code(), 0);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        c.part(&id, 0, &[7; 10]).await.code(),
        feishu::UPLOAD_ID_EXPIRED
    );
    assert_eq!(c.finish(&id, 1).await.code(), feishu::UPLOAD_ID_EXPIRED);

    // Or on demand, as if 24 hours had passed.
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let (id, _, _) = c.prepare("f", 10).await;
    assert_eq!(mock.expire_uploads(), 1);
    assert_eq!(
        c.part(&id, 0, &[7; 10]).await.code(),
        feishu::UPLOAD_ID_EXPIRED
    );
}

// ------------------------------------------------------------------ §5, §10 limits

#[tokio::test]
async fn concurrent_parts_of_one_upload_are_refused_and_recorded() {
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let data = pattern(8 * MIB, 6);
    let (id, _, _) = c.prepare("f", data.len() as u64).await;
    let (id2, _, _) = c.prepare("g", data.len() as u64).await;
    // A first block whose bytes come slowly keeps its call open (its upload_id already read)
    // while the second one arrives.
    let block = data[..4 * MIB].to_vec();
    let checksum = adler32(&block);
    let stream = futures_util::stream::once(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok::<_, std::io::Error>(block)
    });
    let slow_file = Part::stream_with_length(reqwest::Body::wrap_stream(stream), 4 * MIB as u64)
        .file_name("blob");
    let slow_form = Form::new()
        .text("upload_id", id.clone())
        .text("seq", "0")
        .text("size", (4 * MIB).to_string())
        .text("checksum", checksum.to_string())
        .part("file", slow_file);
    let slow = c.form(feishu::FILES_PART, slow_form);
    let fast = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let same = c.part(&id, 1, &data[4 * MIB..]).await;
        let other = c.part(&id2, 1, &data[4 * MIB..]).await;
        (same, other)
    };
    let (slow, (same, other)) = tokio::join!(slow, fast);
    assert_eq!(slow.code(), 0);
    assert_eq!(
        (same.status, same.code()),
        (200, feishu::CAN_RETRY),
        "{}",
        same.body
    );
    assert_eq!(
        other.code(),
        0,
        "another upload is not concurrent with this one"
    );
    let s = mock.stats();
    assert_eq!(
        (s.refused_concurrent, s.max_concurrent_parts_per_upload),
        (1, 2)
    );
}

#[tokio::test]
async fn more_than_five_calls_a_second_are_refused_with_can_retry() {
    let mock = FeishuMock::start(FeishuConfig::default()).await;
    let c = Client::new(&mock).await;
    let (id, _, _) = c.prepare("f", 10).await;
    let mut codes = Vec::new();
    for _ in 0..8 {
        let a = c.part(&id, 0, &[1; 10]).await;
        assert_eq!(a.status, 200);
        codes.push(a.code());
    }
    let refused = codes.iter().filter(|c| **c == feishu::CAN_RETRY).count();
    let s = mock.stats();
    println!(
        "codes {codes:?}; max part calls in one second {}",
        s.max_part_calls_per_second
    );
    assert!(refused >= 3, "{codes:?}");
    assert_eq!(s.refused_rate as usize, refused);
    assert!(s.max_part_calls_per_second >= 6);
    // A second later the API answers again.
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    assert_eq!(c.part(&id, 0, &[1; 10]).await.code(), 0);
}

#[tokio::test]
async fn the_daily_limit_answers_can_retry() {
    let mock = FeishuMock::start(FeishuConfig {
        daily_limit: 2,
        ..unthrottled()
    })
    .await;
    let c = Client::new(&mock).await;
    c.prepare("a", 1).await;
    c.prepare("b", 1).await;
    let a = c.json(feishu::FILES_PREPARE, json!({ "file_name": "c", "parent_type": "explorer", "parent_node": DEFAULT_FOLDER, "size": 1 })).await;
    assert_eq!(a.code(), feishu::CAN_RETRY);
    assert_eq!(mock.stats().refused_daily, 1);
}

// ------------------------------------------------------------------ faults, statuses

#[tokio::test]
async fn injected_faults_use_the_documented_answers() {
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let faults = mock.faults();
    faults
        .push(
            FaultRule::on(
                feishu::FILES_PREPARE,
                FaultAction::BusinessError {
                    code: feishu::RATE_LIMITED,
                    message: None,
                },
            )
            .times(1),
        )
        .unwrap();
    faults
        .push(
            FaultRule::on(
                feishu::FILES_PREPARE,
                FaultAction::BusinessError {
                    code: feishu::CAN_RETRY,
                    message: None,
                },
            )
            .times(1),
        )
        .unwrap();
    let body = json!({ "file_name": "a", "parent_type": "explorer", "parent_node": DEFAULT_FOLDER, "size": 1 });
    let a = c.json(feishu::FILES_PREPARE, body.clone()).await;
    assert_eq!((a.status, a.code()), (429, feishu::RATE_LIMITED));
    assert_eq!(a.headers["x-ogw-ratelimit-reset"], "1");
    assert!(a.headers.contains_key("x-ogw-ratelimit-limit"));
    let a = c.json(feishu::FILES_PREPARE, body.clone()).await;
    assert_eq!(
        (a.status, a.code(), a.body["msg"].as_str()),
        (200, feishu::CAN_RETRY, Some("can retry."))
    );
    assert_eq!(c.json(feishu::FILES_PREPARE, body).await.code(), 0);
    // A dropped connection is a transport error.
    faults
        .push(
            FaultRule::on(
                feishu::FILES_UPLOAD_ALL,
                FaultAction::DropMidBody { after_bytes: 1000 },
            )
            .times(1),
        )
        .unwrap();
    let form = Form::new()
        .text("file_name", "a")
        .part("file", file(pattern(100_000, 9)));
    assert!(c
        .post(feishu::FILES_UPLOAD_ALL)
        .multipart(form)
        .send()
        .await
        .is_err());
    assert_eq!(mock.stats().faults_injected, 3);
}

#[tokio::test]
async fn documented_http_statuses_when_asked() {
    let mock = FeishuMock::start(FeishuConfig {
        documented_http_status: true,
        ..unthrottled()
    })
    .await;
    let c = Client::new(&mock).await;
    let a = c.upload_all(&"n".repeat(300), b"x", None).await;
    assert_eq!((a.status, a.code()), (400, feishu::INVALID_FILE_NAME));
    mock.faults()
        .push(
            FaultRule::on(
                feishu::FILES_UPLOAD_ALL,
                FaultAction::BusinessError {
                    code: feishu::CAN_RETRY,
                    message: None,
                },
            )
            .times(1),
        )
        .unwrap();
    let a = c.upload_all("a", b"x", None).await;
    assert_eq!(
        (a.status, a.code()),
        (200, feishu::CAN_RETRY),
        "1061045 is documented as HTTP 200"
    );
    mock.faults()
        .push(
            FaultRule::on(
                feishu::FILES_UPLOAD_ALL,
                FaultAction::BusinessError {
                    code: feishu::FORBIDDEN,
                    message: None,
                },
            )
            .times(1),
        )
        .unwrap();
    assert_eq!(c.upload_all("a", b"x", None).await.status, 403);
    assert_eq!(feishu::documented_status(feishu::UPLOAD_ID_EXPIRED), 400);
}

#[tokio::test]
async fn quota_is_enforced() {
    let mock = FeishuMock::start(FeishuConfig {
        quota_bytes: Some(100),
        ..unthrottled()
    })
    .await;
    let c = Client::new(&mock).await;
    assert_eq!(c.upload_all("a", &[1; 60], None).await.code(), 0);
    assert_eq!(
        c.upload_all("b", &[1; 60], None).await.code(),
        feishu::TENANT_QUOTA_EXCEEDED
    );
    let a = c.json(feishu::FILES_PREPARE, json!({ "file_name": "c", "parent_type": "explorer", "parent_node": DEFAULT_FOLDER, "size": 41 })).await;
    assert_eq!(a.code(), feishu::TENANT_QUOTA_EXCEEDED);
}

// ------------------------------------------------------------------ §3, §8 medias

#[tokio::test]
async fn media_upload_points_need_their_extra() {
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let media = |t: &str, node: &str, extra: Option<&str>| {
        let mut f = Form::new()
            .text("file_name", "demo.jpeg")
            .text("parent_type", t.to_owned())
            .text("parent_node", node.to_owned())
            .text("size", "3");
        if let Some(e) = extra {
            f = f.text("extra", e.to_owned());
        }
        f.part("file", file(vec![1, 2, 3]))
    };
    let route = r#"{"drive_route_token":"doxcnXgNGAtaAraIRVeCfmabcef"}"#;
    assert_eq!(
        c.form(feishu::MEDIAS_UPLOAD_ALL, media("docx_image", "blk", None))
            .await
            .code(),
        feishu::PARAMS_ERROR
    );
    assert_eq!(
        c.form(
            feishu::MEDIAS_UPLOAD_ALL,
            media("docx_image", "blk", Some("{}"))
        )
        .await
        .code(),
        feishu::PARAMS_ERROR
    );
    assert_eq!(
        c.form(
            feishu::MEDIAS_UPLOAD_ALL,
            media("moments", "blk", Some(route))
        )
        .await
        .code(),
        feishu::PARAMS_ERROR
    );
    assert_eq!(
        c.form(
            feishu::MEDIAS_UPLOAD_ALL,
            media("docx_image", "blk", Some(route))
        )
        .await
        .code(),
        0
    );
    let import = r#"{"obj_type":"docx","file_extension":"md"}"#;
    assert_eq!(
        c.form(
            feishu::MEDIAS_UPLOAD_ALL,
            media("ccm_import_open", "", Some(import))
        )
        .await
        .code(),
        0
    );
    let a = c
        .json(
            feishu::MEDIAS_PREPARE,
            json!({ "file_name": "big.mp4", "parent_type": "docx_file", "parent_node": "blk", "size": 5 * MIB, "extra": route }),
        )
        .await;
    assert_eq!(
        (a.code(), a.body["data"]["block_num"].as_u64()),
        (0, Some(2))
    );
    let objects = mock.objects();
    assert_eq!(objects.len(), 2);
    assert_eq!(
        (
            objects[0].placement.family.as_str(),
            objects[0].placement.parent_type.as_str()
        ),
        ("medias", "docx_image")
    );
}

#[tokio::test]
async fn folder_meta_answers_for_known_folders() {
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let get = |token: &str| {
        answer(
            c.http
                .get(format!(
                    "{}/open-apis/drive/explorer/v2/folder/{token}/meta",
                    c.base
                ))
                .bearer_auth(&c.token),
        )
    };
    let a = get(DEFAULT_FOLDER).await;
    assert_eq!(
        (a.code(), a.body["data"]["token"].as_str()),
        (0, Some(DEFAULT_FOLDER))
    );
    assert_eq!(get("fldNOPE").await.code(), feishu::NOT_FOUND);
}

#[tokio::test]
async fn folders_follow_folders_md_section_2() {
    // The rate limit has its own test; here only the no-overlap rule of structure calls.
    let mock = FeishuMock::start(unthrottled()).await;
    let c = Client::new(&mock).await;
    let create = |name: &str, parent: &str| c.json(feishu::CREATE_FOLDER, json!({ "name": name, "folder_token": parent }));
    let a = create("reports", DEFAULT_FOLDER).await;
    assert_eq!(a.code(), 0, "{}", a.body);
    let reports = a.body["data"]["token"].as_str().unwrap().to_owned();
    assert!(a.body["data"]["url"].as_str().is_some());
    // Nothing on the server stops a second folder of the same name (§2.7).
    let twin = create("reports", DEFAULT_FOLDER).await;
    assert_eq!(twin.code(), 0);
    assert_ne!(twin.body["data"]["token"], a.body["data"]["token"]);
    assert_eq!(create("x", "fldNoSuchFolder123").await.code(), feishu::PARENT_NOT_EXIST);
    // Structure calls may not overlap: a second one while one is in progress is refused (a
    // mock whose create is held long enough that the second of two sent together overlaps it).
    {
        let held = FeishuMock::start(FeishuConfig { folder_call_hold: Duration::from_secs(2), ..unthrottled() }).await;
        let h = Client::new(&held).await;
        let make = |name: &str| h.json(feishu::CREATE_FOLDER, json!({ "name": name, "folder_token": DEFAULT_FOLDER }));
        let (one, two) = tokio::join!(make("a"), make("b"));
        let codes = [one.code(), two.code()];
        assert!(codes.contains(&0) && codes.contains(&feishu::CAN_RETRY), "{codes:?}");
        assert_eq!(held.concurrent_folder_calls(), 1);
        assert_eq!(held.folders_created(), 1);
    }
    for n in ["a", "b"] {
        assert_eq!(create(n, &reports).await.code(), 0);
    }

    for n in ["c", "d", "e"] {
        assert_eq!(create(n, &reports).await.code(), 0);
    }
    let get = |q: String| answer(c.http.get(format!("{}{}?{q}", c.base, feishu::LIST_FILES)).bearer_auth(&c.token));
    let first = get(format!("folder_token={reports}&page_size=3")).await;
    assert_eq!(first.code(), 0, "{}", first.body);
    assert_eq!(first.body["data"]["files"].as_array().unwrap().len(), 3);
    assert_eq!(first.body["data"]["has_more"], true);
    let token = first.body["data"]["next_page_token"].as_str().unwrap().to_owned();
    let rest = get(format!("folder_token={reports}&page_size=3&page_token={token}")).await;
    assert_eq!(rest.body["data"]["files"].as_array().unwrap().len(), 2, "a, b, c, d, e");
    assert_eq!(rest.body["data"]["has_more"], false);
    assert!(rest.body["data"]["files"][0].get("size").is_none(), "the listing has no size");
    assert_eq!(get(format!("folder_token={reports}&page_size=201")).await.code(), 1064001);
    // No folder_token: the root, whole and unpaged.
    let root = get("page_size=1".into()).await;
    assert_eq!(root.body["data"]["has_more"], false);
    assert_eq!(root.body["data"]["files"].as_array().unwrap().len(), 2, "reports twice");
}
