//! The DingTalk mock checked against `shared/providers/dingtalk.md`, with a test-only client.

use std::time::Duration;

use ferry_mock_providers::dingtalk::{
    self, commit_path, init_path, upload_info_path, PART_INFOS_PATH, TOKEN_PATH,
};
use ferry_mock_providers::{DingtalkConfig, DingtalkMock, FaultAction, FaultRule};
use reqwest::StatusCode;
use serde_json::{json, Value};

const KIB: usize = 1024;

struct Client {
    http: reqwest::Client,
    base: String,
    cfg: DingtalkConfig,
    token: String,
}

struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

impl Client {
    async fn new(mock: &DingtalkMock) -> Client {
        let mut c = Client {
            http: reqwest::Client::new(),
            base: mock.base_url(),
            cfg: mock.config().clone(),
            token: String::new(),
        };
        let a = c
            .raw(
                TOKEN_PATH,
                None,
                json!({"appKey": c.cfg.app_key, "appSecret": c.cfg.app_secret}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        c.token = a.body["accessToken"].as_str().unwrap().to_owned();
        c
    }

    async fn raw(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        let mut req = self
            .http
            .post(format!(
                "{}{path}?unionId={}",
                self.base,
                self.cfg.union_id()
            ))
            .json(&body);
        if let Some(t) = token {
            req = req.header("x-acs-dingtalk-access-token", t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    async fn call(&self, path: &str, body: Value) -> Answer {
        self.raw(path, Some(&self.token), body).await
    }

    async fn init(&self) -> String {
        let a = self
            .call(
                &init_path(&self.cfg.space_id),
                json!({"option": {"storageDriver": "DINGTALK"}}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body["uploadKey"].as_str().unwrap().to_owned()
    }

    async fn infos(&self, key: &str, parts: &[u32]) -> Answer {
        self.call(
            PART_INFOS_PATH,
            json!({"uploadKey": key, "partNumbers": parts}),
        )
        .await
    }

    /// PUTs `data` to the first URL of a `headerSignatureInfo` with exactly its headers.
    async fn put(
        &self,
        info: &Value,
        data: Vec<u8>,
        tweak: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> (StatusCode, String) {
        let url = info["resourceUrls"][0].as_str().unwrap();
        let mut req = self
            .http
            .put(url)
            .header("content-length", data.len())
            .body(data);
        for (k, v) in info["headers"].as_object().unwrap() {
            req = req.header(k.as_str(), v.as_str().unwrap());
        }
        let resp = tweak(req).send().await.unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    async fn commit(&self, key: &str, name: &str, size: Option<u64>, strategy: &str) -> Answer {
        let mut option = json!({"conflictStrategy": strategy});
        if let Some(s) = size {
            option["size"] = s.into();
        }
        self.call(
            &commit_path(&self.cfg.space_id),
            json!({"uploadKey": key, "name": name, "parentId": "0", "option": option}),
        )
        .await
    }

    /// A multipart upload of `parts` (sizes), committed as `name`.
    async fn upload(&self, name: &str, parts: &[usize], strategy: &str) -> Answer {
        let key = self.init().await;
        let numbers: Vec<u32> = (1..=parts.len() as u32).collect();
        let a = self.infos(&key, &numbers).await;
        let total: usize = parts.iter().sum();
        for (i, &len) in parts.iter().enumerate() {
            let info = &a.body["multipartHeaderSignatureInfos"][i]["headerSignatureInfo"];
            let (s, t) = self.put(info, vec![i as u8; len], |r| r).await;
            assert_eq!(s, StatusCode::OK, "{t}");
        }
        self.commit(&key, name, Some(total as u64), strategy).await
    }
}

async fn started(cfg: DingtalkConfig) -> (DingtalkMock, Client) {
    let mock = DingtalkMock::start(cfg).await;
    let client = Client::new(&mock).await;
    (mock, client)
}

#[tokio::test]
async fn token_endpoint_follows_section_1a() {
    let (mock, c) = started(DingtalkConfig {
        token_ttl: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    // Asking again while valid returns the same token.
    let again = c
        .raw(
            TOKEN_PATH,
            None,
            json!({"appKey": c.cfg.app_key, "appSecret": c.cfg.app_secret}),
        )
        .await;
    assert_eq!(again.body["accessToken"], c.token.as_str());
    assert_eq!(again.body["expireIn"], 2);
    // A form body is refused; so is a wrong secret.
    let form = c
        .http
        .post(format!("{}{TOKEN_PATH}", c.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("appKey=k")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::BAD_REQUEST);
    let wrong = c
        .raw(
            TOKEN_PATH,
            None,
            json!({"appKey": c.cfg.app_key, "appSecret": "nope"}),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::BAD_REQUEST, dingtalk::PERMISSION_DENIED)
    );
    // A missing, JSON-quoted or expired token is InvalidAuthentication (HTTP 400).
    for token in [None, Some(format!("\"{}\"", c.token))] {
        let a = c
            .raw(&init_path(&c.cfg.space_id), token.as_deref(), json!({}))
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, dingtalk::INVALID_AUTHENTICATION),
            "{token:?}"
        );
    }
    mock.expire_tokens();
    let a = c.call(&init_path(&c.cfg.space_id), json!({})).await;
    assert_eq!(a.code(), dingtalk::INVALID_AUTHENTICATION);
    assert!(a.body["requestid"].as_str().is_some_and(|r| !r.is_empty()));
    let fresh = Client::new(&mock).await;
    assert_ne!(fresh.token, c.token, "after expiry a new token is issued");
    assert_eq!(mock.stats().tokens_issued, 2);

    // A revoked token: the next call is refused even with a token fetched since, then a
    // token issued after the revocation works and the revoked one never again.
    mock.revoke_token();
    let newest = Client::new(&mock).await;
    assert_ne!(newest.token, fresh.token);
    let a = newest.call(&init_path(&c.cfg.space_id), json!({})).await;
    assert_eq!(a.code(), dingtalk::INVALID_AUTHENTICATION);
    let a = newest.call(&init_path(&c.cfg.space_id), json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = fresh.call(&init_path(&c.cfg.space_id), json!({})).await;
    assert_eq!(a.code(), dingtalk::INVALID_AUTHENTICATION);
}

#[tokio::test]
async fn part_infos_follow_section_3() {
    let (_mock, c) = started(DingtalkConfig::default()).await;
    let key = c.init().await;
    let a = c.infos(&key, &(1..=30).collect::<Vec<_>>()).await;
    assert_eq!(a.status, StatusCode::OK);
    let infos = a.body["multipartHeaderSignatureInfos"].as_array().unwrap();
    assert_eq!(infos.len(), 30);
    let info = &infos[0]["headerSignatureInfo"];
    assert_eq!(infos[0]["partNumber"], 1);
    assert_eq!(info["expirationSeconds"], 900);
    assert_eq!(info["region"], "ZHANGJIAKOU");
    assert_eq!(info["resourceUrls"].as_array().unwrap().len(), 2);
    assert!(info["headers"]["Authorization"]
        .as_str()
        .unwrap()
        .starts_with("OSS "));
    for bad in [
        vec![],
        (1..=31).collect::<Vec<u32>>(),
        vec![0],
        vec![10_001],
        vec![3, 3],
    ] {
        let a = c.infos(&key, &bad).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, dingtalk::PARAM_ERROR_PART_NUMBERS),
            "{bad:?}"
        );
    }
    let a = c.infos("no-such-key", &[1]).await;
    assert_eq!(a.code(), dingtalk::PARAM_ERROR_UPLOAD_KEY);
}

#[tokio::test]
async fn signed_puts_follow_section_4() {
    let (mock, c) = started(DingtalkConfig {
        url_ttl_secs: 1,
        ..Default::default()
    })
    .await;
    let key = c.init().await;
    let a = c.infos(&key, &[1, 2]).await;
    let info = a.body["multipartHeaderSignatureInfos"][0]["headerSignatureInfo"].clone();
    let data = vec![7u8; 10];
    let (s, t) = c
        .put(&info, data.clone(), |r| {
            r.header("content-type", "application/octet-stream")
        })
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an unsigned Content-Type breaks the signature"
    );
    assert!(t.contains("SignatureDoesNotMatch"));
    let (s, _) = c
        .put(&info, data.clone(), |r| {
            r.header("x-oss-date", "Mon, 01 Jan 2024 00:00:00 GMT")
        })
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a changed signed header");
    let (s, _) = c
        .put(&info, data.clone(), |r| {
            r.header("x-acs-dingtalk-access-token", "t")
        })
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "the DingTalk token must not go to the storage host"
    );
    let chunked = c.http.put(info["resourceUrls"][0].as_str().unwrap());
    let mut chunked = chunked.body(reqwest::Body::wrap_stream(futures_util::stream::iter([
        Ok::<_, std::io::Error>(vec![1u8; 5]),
    ])));
    for (k, v) in info["headers"].as_object().unwrap() {
        chunked = chunked.header(k.as_str(), v.as_str().unwrap());
    }
    assert_eq!(
        chunked.send().await.unwrap().status(),
        StatusCode::LENGTH_REQUIRED
    );
    let (s, t) = c.put(&info, data.clone(), |r| r).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    // The second URL of the part is as good as the first.
    let fallback = json!({"resourceUrls": [info["resourceUrls"][1].clone()], "headers": info["headers"].clone()});
    assert_eq!(
        c.put(&fallback, data.clone(), |r| r).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, t) = c.put(&info, data, |r| r).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(t.contains("Request has expired"), "{t}");
    let st = mock.stats();
    assert_eq!((st.puts_ok, st.puts_expired, st.parts_resent), (2, 1, 1));
}

#[tokio::test]
async fn commit_follows_section_5_and_its_conflict_strategies() {
    let (mock, c) = started(DingtalkConfig {
        min_part: 4 * KIB as u64,
        ..Default::default()
    })
    .await;
    let a = c
        .upload("music.mp3", &[4 * KIB, 4 * KIB, 100], "AUTO_RENAME")
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let d = &a.body["dentry"];
    assert_eq!(
        (d["name"].as_str(), d["size"].as_u64(), d["type"].as_str()),
        (Some("music.mp3"), Some(8292), Some("FILE"))
    );
    assert!(d["createTime"].as_str().unwrap().ends_with('Z'));
    // Unequal or undersized parts, a gap, a wrong option.size: refused.
    assert_eq!(
        c.upload("x", &[4 * KIB, 5 * KIB, 1], "AUTO_RENAME")
            .await
            .code(),
        dingtalk::PARAM_ERROR
    );
    assert_eq!(
        c.upload("x", &[100, 100], "AUTO_RENAME").await.code(),
        dingtalk::PARAM_ERROR
    );
    let key = c.init().await;
    assert_eq!(
        c.commit(&key, "x", Some(1), "AUTO_RENAME").await.code(),
        dingtalk::PARAM_ERROR,
        "nothing uploaded"
    );
    let bad_name = c.upload("a|b", &[10], "AUTO_RENAME").await;
    assert_eq!(bad_name.code(), dingtalk::PARAM_ERROR);
    // The four strategies against the existing music.mp3.
    let renamed = c.upload("music.mp3", &[10], "AUTO_RENAME").await;
    assert_eq!(renamed.body["dentry"]["name"], "music(1).mp3");
    let existing = c
        .upload("music.mp3", &[10], "RETURN_DENTRY_IF_EXISTS")
        .await;
    assert_eq!(existing.body["dentry"]["id"], d["id"]);
    let refused = c.upload("music.mp3", &[10], "RETURN_ERROR_IF_EXISTS").await;
    assert_eq!(refused.code(), dingtalk::FILE_EXISTS);
    let over = c.upload("music.mp3", &[20], "OVERWRITE").await;
    assert_eq!(
        (
            over.body["dentry"]["id"].clone(),
            over.body["dentry"]["version"].as_u64()
        ),
        (d["id"].clone(), Some(2))
    );
    assert_eq!(mock.files().len(), 2, "music.mp3 and music(1).mp3");
}

#[tokio::test]
async fn a_used_upload_key_commits_again_unless_configured_strictly() {
    async fn one_part(c: &Client) -> String {
        let key = c.init().await;
        let a = c.infos(&key, &[1]).await;
        c.put(
            &a.body["multipartHeaderSignatureInfos"][0]["headerSignatureInfo"],
            vec![1; 10],
            |r| r,
        )
        .await;
        key
    }
    // The pessimistic default: a blind re-commit of the same key makes a renamed duplicate…
    let (mock, c) = started(DingtalkConfig::default()).await;
    let key = one_part(&c).await;
    assert_eq!(
        c.commit(&key, "a.bin", Some(10), "AUTO_RENAME").await.body["dentry"]["name"],
        "a.bin"
    );
    assert_eq!(
        c.commit(&key, "a.bin", Some(10), "AUTO_RENAME").await.body["dentry"]["name"],
        "a(1).bin"
    );
    assert_eq!(mock.stats().commits_of_used_keys, 1);
    // …while RETURN_DENTRY_IF_EXISTS hands back the file without touching the key.
    let (mock2, c2) = started(DingtalkConfig {
        reusable_upload_key: false,
        ..Default::default()
    })
    .await;
    let key = one_part(&c2).await;
    assert_eq!(
        c2.commit(&key, "b.bin", Some(10), "AUTO_RENAME")
            .await
            .status,
        StatusCode::OK
    );
    let found = c2
        .commit(&key, "b.bin", Some(10), "RETURN_DENTRY_IF_EXISTS")
        .await;
    assert_eq!(found.body["dentry"]["name"], "b.bin");
    assert_eq!(
        c2.commit(&key, "b.bin", Some(10), "AUTO_RENAME")
            .await
            .code(),
        dingtalk::PARAM_ERROR_UPLOAD_KEY
    );
    assert_eq!(mock2.files().len(), 1);
}

#[tokio::test]
async fn single_shot_follows_section_6() {
    let (mock, c) = started(DingtalkConfig::default()).await;
    let path = upload_info_path(&c.cfg.space_id);
    assert_eq!(
        c.call(&path, json!({"multipart": false})).await.code(),
        dingtalk::PARAM_ERROR
    );
    assert_eq!(
        c.call(&path, json!({"protocol": "URL"})).await.code(),
        "DENTRY_UPLOAD_PROTOCOL_NOTSUPPORT"
    );
    let a = c.call(&path, json!({"protocol": "HEADER_SIGNATURE", "multipart": false, "option": {"storageDriver": "DINGTALK", "preCheckParam": {"parentId": "0", "size": 3}}})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["protocol"], "HEADER_SIGNATURE");
    let key = a.body["uploadKey"].as_str().unwrap();
    assert_eq!(
        c.put(&a.body["headerSignatureInfo"], b"abc".to_vec(), |r| r)
            .await
            .0,
        StatusCode::OK
    );
    let d = c.commit(key, "small.txt", Some(3), "AUTO_RENAME").await;
    assert_eq!(d.body["dentry"]["size"], 3);
    assert_eq!(
        mock.files()[0].sha1_hex,
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    // The pre-check refuses a clashing name.
    let clash = c.call(&path, json!({"protocol": "HEADER_SIGNATURE", "option": {"preCheckParam": {"name": "small.txt"}}})).await;
    assert_eq!(clash.code(), dingtalk::FILE_EXISTS);
}

#[tokio::test]
async fn the_gateway_enforces_permissions_members_qps_and_the_monthly_quota() {
    let (_m, c) = started(DingtalkConfig {
        permissions: vec![dingtalk::UPLOAD_INFO_READ.into()],
        ..Default::default()
    })
    .await;
    let a = c.commit("k", "n", None, "AUTO_RENAME").await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, dingtalk::PERMISSION_DENIED)
    );
    let (_m, mut c) = started(DingtalkConfig::default()).await;
    c.cfg.members = vec!["stranger".into()];
    assert_eq!(
        c.call(&init_path(&c.cfg.space_id), json!({})).await.code(),
        dingtalk::NO_PRIVILEDGE
    );
    let (m, c) = started(DingtalkConfig {
        qps_per_api: Some(5),
        ..Default::default()
    })
    .await;
    let mut throttled = 0;
    for _ in 0..8 {
        throttled += usize::from(
            c.call(&init_path(&c.cfg.space_id), json!({})).await.code()
                == dingtalk::QPS_LIMIT_APP_API,
        );
    }
    assert!(throttled >= 3, "{throttled}");
    assert_eq!(m.stats().qps_refusals, throttled as u64);
    let (_m, c) = started(DingtalkConfig {
        monthly_quota: Some(2),
        ..Default::default()
    })
    .await;
    c.init().await;
    c.init().await;
    let a = c.call(&init_path(&c.cfg.space_id), json!({})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, dingtalk::API_COUNT_LIMIT_ORG)
    );
}

#[tokio::test]
async fn faults_render_dingtalk_codes_the_ban_page_and_lost_answers() {
    let (mock, c) = started(DingtalkConfig::default()).await;
    let init = init_path(&c.cfg.space_id);
    for (code, status) in dingtalk::DOCUMENTED {
        mock.faults()
            .set(vec![FaultRule::on(
                &init,
                FaultAction::BusinessError {
                    code: 0,
                    message: Some(code.into()),
                },
            )
            .times(1)])
            .unwrap();
        let a = c.call(&init, json!({})).await;
        assert_eq!((a.status.as_u16(), a.code()), (status, code));
    }
    mock.faults()
        .set(vec![FaultRule::on(
            &init,
            FaultAction::BusinessError {
                code: 0,
                message: Some(dingtalk::IP_BAN_PAGE.into()),
            },
        )
        .times(1)])
        .unwrap();
    let a = c.call(&init, json!({})).await;
    assert_eq!(
        (a.body["punish"].as_str(), a.body["status"].as_u64()),
        (Some("deny"), Some(1111))
    );
    // A lost commit answer: the client sees a dropped connection, the file exists.
    mock.lose_answers(&commit_path(&c.cfg.space_id), 1);
    let key = c.init().await;
    let a = c.infos(&key, &[1]).await;
    c.put(
        &a.body["multipartHeaderSignatureInfos"][0]["headerSignatureInfo"],
        vec![5; 10],
        |r| r,
    )
    .await;
    let url = format!(
        "{}{}?unionId={}",
        c.base,
        commit_path(&c.cfg.space_id),
        c.cfg.union_id()
    );
    let body = json!({"uploadKey": key, "name": "lost.bin", "parentId": "0"});
    let sent = c
        .http
        .post(url)
        .header("x-acs-dingtalk-access-token", &c.token)
        .json(&body)
        .send()
        .await;
    assert!(sent.is_err(), "the answer was lost");
    assert_eq!(mock.files().len(), 1, "but the commit was applied");
    assert_eq!(mock.stats().answers_lost, 1);
}

#[tokio::test]
async fn folders_follow_folders_md_section_1() {
    let (mock, c) = started(DingtalkConfig::default()).await;
    let space = c.cfg.space_id.clone();
    let add = |parent: &str, name: &str, strategy: Option<&str>| {
        let mut body = json!({ "name": name });
        if let Some(s) = strategy {
            body["option"] = json!({ "conflictStrategy": s });
        }
        (format!("/v1.0/storage/spaces/{space}/dentries/{parent}/folders"), body)
    };
    let (p, b) = add("0", "reports", Some("RETURN_DENTRY_IF_EXISTS"));
    let first = c.call(&p, b.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["dentry"]["type"], "FOLDER");
    let id = first.body["dentry"]["id"].as_str().unwrap().to_owned();
    let again = c.call(&p, b).await;
    assert_eq!(again.body["dentry"]["id"].as_str(), Some(id.as_str()), "RETURN_DENTRY_IF_EXISTS answers the same folder");
    let (p, b) = add("0", "reports", None);
    let renamed = c.call(&p, b).await;
    assert_eq!(renamed.body["dentry"]["name"], "reports(1)", "the default AUTO_RENAME makes a sibling");
    let (p, b) = add("0", "reports", Some("RETURN_ERROR_IF_EXISTS"));
    assert_eq!(c.call(&p, b).await.code(), dingtalk::FILE_EXISTS);
    let (p, b) = add("999", "x", Some("RETURN_DENTRY_IF_EXISTS"));
    assert_eq!(c.call(&p, b).await.code(), dingtalk::PARAM_ERROR, "an unknown parent is refused");
    let (p, b) = add("0", "bad|name", Some("RETURN_DENTRY_IF_EXISTS"));
    assert_eq!(c.call(&p, b).await.code(), dingtalk::PARAM_ERROR);
    for n in ["c", "a", "b"] {
        let (p, b) = add(&id, n, Some("RETURN_DENTRY_IF_EXISTS"));
        assert_eq!(c.call(&p, b).await.status, StatusCode::OK);
    }
    assert_eq!(mock.folders().len(), 5);

    // ListDentries: GET, at most 50 a page, an opaque nextToken echoed back.
    let list = |query: String| {
        let (http, base, token, union) = (c.http.clone(), c.base.clone(), c.token.clone(), c.cfg.union_id().to_owned());
        let space = space.clone();
        async move {
            let resp = http
                .get(format!("{base}/v1.0/storage/spaces/{space}/dentries?unionId={union}&{query}"))
                .header("x-acs-dingtalk-access-token", token)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, _) = list(format!("parentId={id}&maxResults=51")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "maxResults is at most 50");
    let (s, page) = list(format!("parentId={id}&maxResults=2&orderBy=NAME&order=ASC")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let names = |p: &Value| p["dentries"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&page), ["a", "b"]);
    let token = page["nextToken"].as_str().unwrap().to_owned();
    let (_, rest) = list(format!("parentId={id}&maxResults=2&orderBy=NAME&order=ASC&nextToken={token}")).await;
    assert_eq!(names(&rest), ["c"]);
    assert!(rest.get("nextToken").is_none(), "the last page has no token");
    let (s, _) = list(format!("parentId={id}&nextToken=made-up")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
