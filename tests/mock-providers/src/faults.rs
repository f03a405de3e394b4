//! Runtime fault injection shared by every provider mock.
//!
//! A [`Faults`] handle holds an ordered list of [`FaultRule`]s. Each request to a faultable
//! path (provider endpoints and the sink, never the `/__mock/*` control routes) is matched
//! against the rules in order; each matching rule counts it (`seen`) and its [`Trigger`] decides
//! whether it fires. `Delay` rules add up and `Bandwidth` rules cap the request body (the lowest
//! cap wins); neither stops evaluation. The first other rule that fires decides the request's
//! fate, and the rules after it are not evaluated for that request.
//!
//! Over HTTP the same rules are JSON, e.g.
//! `[{"path":"/file/mpupload/upload","action":{"kind":"http_status","status":503},"trigger":{"mode":"next","n":2}}]`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::body;
use crate::server::ConnectionKiller;

/// What an injected fault does to the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Read at least `after_bytes` of the body (all of it if shorter), then close the socket
    /// without answering: the client sees a transport error.
    DropMidBody { after_bytes: u64 },
    /// Answer this HTTP status (e.g. 500/502/503) with a small JSON body, no provider envelope.
    HttpStatus { status: u16 },
    /// Answer HTTP 200 with the provider's business-error envelope carrying `code`
    /// (`message` defaults to the provider's text for that code).
    BusinessError {
        code: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Answer 429 with `Retry-After: retry_after_secs`.
    Throttle {
        #[serde(default = "one_second")]
        retry_after_secs: u64,
    },
    /// Wait `ms` before handling the request (a client that gives up meanwhile leaves no trace).
    Delay { ms: u64 },
    /// Read the request body at most `bytes_per_sec` (a slow link; HTTP/1.1 carries one
    /// request at a time, so this caps each connection). With `Delay`, a link with latency.
    Bandwidth { bytes_per_sec: u64 },
    /// Handle the request in full, then close the socket instead of sending a successful
    /// answer: the work is done, the client hears nothing (as when an answer is lost on the
    /// way back). An unsuccessful answer is sent as usual.
    LoseAnswer,
    /// Answer `status` (429 or 503) with `Retry-After: value` exactly as given: a broken
    /// server's `NaN`, `-1` or `1e30`, which no document forbids it to send.
    RawRetryAfter { status: u16, value: String },
    /// Answer HTTP 200 with a JSON-looking body of `bytes` bytes (`{"data":"xxxx…"}`), made
    /// as it is sent, never held whole: a broken server or proxy that will not stop talking.
    HugeAnswer { bytes: u64 },
}

fn one_second() -> u64 {
    1
}

/// When a rule fires, counted over the requests the rule has seen (evaluated).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Every matching request.
    Always,
    /// The next `n` matching requests, then never again.
    Next { n: u64 },
    /// The k-th, 2k-th, 3k-th… matching request, at most `max_fires` times if given.
    EveryNth {
        k: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_fires: Option<u64>,
    },
    /// Each matching request with `probability`, drawn from a generator seeded with `seed`
    /// (SplitMix64), so a run is reproducible; at most `max_fires` times if given.
    Random {
        probability: f64,
        seed: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_fires: Option<u64>,
    },
}

/// One fault-injection rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Exact request path (e.g. `/file/mpupload/upload`); absent = every faultable path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub action: FaultAction,
    pub trigger: Trigger,
}

impl FaultRule {
    /// A rule for one path that fires on every request (narrow it with `times`, `every`, …).
    pub fn on(path: &str, action: FaultAction) -> Self {
        FaultRule {
            path: Some(path.to_owned()),
            action,
            trigger: Trigger::Always,
        }
    }

    /// A rule for every faultable path.
    pub fn anywhere(action: FaultAction) -> Self {
        FaultRule {
            path: None,
            action,
            trigger: Trigger::Always,
        }
    }

    /// Fire on the next `n` matching requests only.
    pub fn times(mut self, n: u64) -> Self {
        self.trigger = Trigger::Next { n };
        self
    }

    /// Fire on every k-th matching request.
    pub fn every(mut self, k: u64) -> Self {
        self.trigger = Trigger::EveryNth { k, max_fires: None };
        self
    }

    /// Fire with `probability`, reproducibly from `seed`.
    pub fn randomly(mut self, probability: f64, seed: u64) -> Self {
        self.trigger = Trigger::Random {
            probability,
            seed,
            max_fires: None,
        };
        self
    }

    /// Rejects rules that could never behave as written.
    pub fn validate(&self) -> Result<(), String> {
        match &self.action {
            FaultAction::HttpStatus { status } if StatusCode::from_u16(*status).is_err() => {
                return Err(format!("invalid HTTP status {status}"));
            }
            FaultAction::Bandwidth { bytes_per_sec: 0 } => {
                return Err("bandwidth needs bytes_per_sec >= 1".into());
            }
            FaultAction::RawRetryAfter { status, value } => {
                if StatusCode::from_u16(*status).is_err() {
                    return Err(format!("invalid HTTP status {status}"));
                }
                if HeaderValue::from_str(value).is_err() {
                    return Err(format!("Retry-After {value:?} is not a header value"));
                }
            }
            _ => {}
        }
        match &self.trigger {
            Trigger::EveryNth { k: 0, .. } => Err("every_nth needs k >= 1".into()),
            Trigger::Random { probability, .. } if !(0.0..=1.0).contains(probability) => {
                Err(format!("probability {probability} is outside 0..=1"))
            }
            _ => Ok(()),
        }
    }
}

/// A rule with its counters, as reported by [`Faults::snapshot`] and `GET /__mock/faults`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultRuleStatus {
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Matching requests this rule evaluated.
    pub seen: u64,
    /// Times it fired.
    pub fired: u64,
}

struct ActiveRule {
    rule: FaultRule,
    seen: u64,
    fired: u64,
    rng: SplitMix64,
}

impl ActiveRule {
    fn new(rule: FaultRule) -> Self {
        let seed = match rule.trigger {
            Trigger::Random { seed, .. } => seed,
            _ => 0,
        };
        ActiveRule {
            rule,
            seen: 0,
            fired: 0,
            rng: SplitMix64(seed),
        }
    }

    fn matches(&self, path: &str) -> bool {
        self.rule.path.as_deref().is_none_or(|p| p == path)
    }

    /// Counts the request and says whether the rule fires on it.
    fn evaluate(&mut self) -> bool {
        self.seen += 1;
        let under = |max: &Option<u64>, fired: u64| max.is_none_or(|m| fired < m);
        let fires = match &self.rule.trigger {
            Trigger::Always => true,
            Trigger::Next { n } => self.fired < *n,
            Trigger::EveryNth { k, max_fires } => {
                self.seen.is_multiple_of(*k) && under(max_fires, self.fired)
            }
            Trigger::Random {
                probability,
                max_fires,
                ..
            } => {
                // Always draw, so the sequence does not depend on max_fires.
                let draw = self.rng.next_f64();
                draw < *probability && under(max_fires, self.fired)
            }
        };
        if fires {
            self.fired += 1;
        }
        fires
    }
}

/// What the rules decided for one request.
#[derive(Debug, Default)]
struct Decision {
    delay: Duration,
    /// Lowest `Bandwidth` cap that fired, bytes per second.
    bandwidth: Option<u64>,
    action: Option<FaultAction>,
}

/// Shared, cloneable handle on the active fault rules.
#[derive(Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<ActiveRule>>>,
    /// See [`Faults::fired_total`].
    fired_total: Arc<AtomicU64>,
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces every rule (counters restart). Nothing changes if any rule is invalid.
    pub fn set(&self, rules: Vec<FaultRule>) -> Result<(), String> {
        rules.iter().try_for_each(FaultRule::validate)?;
        *self.rules.lock() = rules.into_iter().map(ActiveRule::new).collect();
        Ok(())
    }

    /// Appends one rule after the existing ones.
    pub fn push(&self, rule: FaultRule) -> Result<(), String> {
        rule.validate()?;
        self.rules.lock().push(ActiveRule::new(rule));
        Ok(())
    }

    /// Removes every rule (the fired total is kept).
    pub fn clear(&self) {
        self.rules.lock().clear();
    }

    /// Removes every rule and zeroes the fired total.
    pub fn reset(&self) {
        let mut rules = self.rules.lock();
        rules.clear();
        self.fired_total.store(0, Ordering::Relaxed);
    }

    /// The rules with their counters.
    pub fn snapshot(&self) -> Vec<FaultRuleStatus> {
        self.rules
            .lock()
            .iter()
            .map(|r| FaultRuleStatus {
                rule: r.rule.clone(),
                seen: r.seen,
                fired: r.fired,
            })
            .collect()
    }

    /// Requests hit by at least one fault since start or the last [`Faults::reset`]
    /// (rules replaced meanwhile included).
    pub fn fired_total(&self) -> u64 {
        self.fired_total.load(Ordering::Relaxed)
    }

    fn decide(&self, path: &str) -> Decision {
        let mut decision = Decision::default();
        for rule in self.rules.lock().iter_mut().filter(|r| r.matches(path)) {
            if let FaultAction::Delay { ms } = rule.rule.action {
                if rule.evaluate() {
                    decision.delay += Duration::from_millis(ms);
                }
            } else if let FaultAction::Bandwidth { bytes_per_sec } = rule.rule.action {
                if rule.evaluate() {
                    decision.bandwidth = Some(decision.bandwidth.map_or(bytes_per_sec, |b| b.min(bytes_per_sec)));
                }
            } else if decision.action.is_none() && rule.evaluate() {
                decision.action = Some(rule.rule.action.clone());
            }
        }
        if decision.action.is_some() || !decision.delay.is_zero() || decision.bandwidth.is_some() {
            self.fired_total.fetch_add(1, Ordering::Relaxed);
        }
        decision
    }
}

/// Renders a provider's business-error envelope: `(code, message override)`.
pub(crate) type BusinessErrorRenderer = Arc<dyn Fn(i64, Option<&str>) -> Response + Send + Sync>;

#[derive(Clone)]
pub(crate) struct FaultLayerState {
    faults: Faults,
    render_business: BusinessErrorRenderer,
}

/// Wraps every route of `router` (added so far) with fault injection.
pub(crate) fn wrap(
    router: Router,
    faults: Faults,
    render_business: BusinessErrorRenderer,
) -> Router {
    let state = FaultLayerState {
        faults,
        render_business,
    };
    router.layer(middleware::from_fn_with_state(state, apply))
}

async fn apply(State(state): State<FaultLayerState>, req: Request, next: Next) -> Response {
    let decision = state.faults.decide(req.uri().path());
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let req = match decision.bandwidth {
        Some(rate) => req.map(|b| throttled(b, rate)),
        None => req,
    };
    let Some(action) = decision.action else {
        return next.run(req).await;
    };
    match action {
        // Never chosen as the action.
        FaultAction::Delay { .. } | FaultAction::Bandwidth { .. } => next.run(req).await,
        FaultAction::LoseAnswer => {
            let killer = req.extensions().get::<ConnectionKiller>().cloned();
            let resp = next.run(req).await;
            match killer {
                Some(killer) if resp.status().is_success() => {
                    killer.kill();
                    // The connection task drops this future together with the socket.
                    std::future::pending().await
                }
                _ => resp,
            }
        }
        FaultAction::DropMidBody { after_bytes } => drop_mid_body(req, after_bytes).await,
        FaultAction::HttpStatus { status } => {
            body::drain(req.into_body()).await;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = format!("injected fault: HTTP {}", status.as_u16());
            (status, Json(serde_json::json!({ "message": message }))).into_response()
        }
        FaultAction::BusinessError { code, message } => {
            body::drain(req.into_body()).await;
            (state.render_business)(code, message.as_deref())
        }
        FaultAction::Throttle { retry_after_secs } => {
            body::drain(req.into_body()).await;
            let mut resp = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(serde_json::json!({ "message": "API rate limit exceeded" })),
            )
                .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            resp
        }
        FaultAction::RawRetryAfter { status, value } => {
            body::drain(req.into_body()).await;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut resp = (status, Json(serde_json::json!({ "message": "try again later" }))).into_response();
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        FaultAction::HugeAnswer { bytes } => {
            body::drain(req.into_body()).await;
            huge_answer(bytes)
        }
    }
}

/// `{"data":"xxx…x"}` of exactly `len` bytes (at least the 11 of its frame), streamed in
/// 64 KiB chunks made on demand, with its Content-Length announced.
fn huge_answer(len: u64) -> Response {
    use futures_util::StreamExt;
    const CHUNK: u64 = 64 << 10;
    let (head, tail) = (&b"{\"data\":\""[..], &b"\"}"[..]);
    let len = len.max((head.len() + tail.len()) as u64);
    let filler = len - (head.len() + tail.len()) as u64;
    let x = axum::body::Bytes::from(vec![b'x'; CHUNK as usize]);
    let middle = futures_util::stream::iter((0..filler.div_ceil(CHUNK)).map(move |i| {
        let n = CHUNK.min(filler - i * CHUNK) as usize;
        Ok::<_, std::io::Error>(x.slice(..n))
    }));
    let body = futures_util::stream::once(async move { Ok(axum::body::Bytes::from_static(head)) })
        .chain(middle)
        .chain(futures_util::stream::once(async move { Ok(axum::body::Bytes::from_static(tail)) }));
    let mut resp = Response::new(Body::from_stream(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

/// `body`, delivered no faster than `rate` bytes per second since its first byte was asked for.
fn throttled(body: Body, rate: u64) -> Body {
    use futures_util::StreamExt;
    let start = tokio::time::Instant::now();
    let mut sent = 0u64;
    Body::from_stream(body.into_data_stream().then(move |chunk| {
        if let Ok(bytes) = &chunk {
            sent += bytes.len() as u64;
        }
        let due = start + Duration::from_secs_f64(sent as f64 / rate as f64);
        async move {
            tokio::time::sleep_until(due).await;
            chunk
        }
    }))
}

async fn drop_mid_body(req: Request, after_bytes: u64) -> Response {
    let killer = req.extensions().get::<ConnectionKiller>().cloned();
    let mut body: Body = req.into_body();
    body::read_at_least(&mut body, after_bytes).await;
    match killer {
        Some(killer) => {
            killer.kill();
            // The connection task drops this future together with the socket.
            std::future::pending().await
        }
        // Only reachable when the router is driven outside `server::serve`.
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "connection could not be dropped",
        )
            .into_response(),
    }
}

/// Small, dependency-free, reproducible generator (SplitMix64).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(faults: &Faults, path: &str, n: usize) -> Vec<bool> {
        (0..n)
            .map(|_| faults.decide(path).action.is_some())
            .collect()
    }

    #[test]
    fn bandwidth_caps_add_up_to_the_lowest_and_never_decide_the_fate() {
        let f = Faults::new();
        assert!(f.push(FaultRule::anywhere(FaultAction::Bandwidth { bytes_per_sec: 0 })).is_err());
        f.push(FaultRule::anywhere(FaultAction::Bandwidth { bytes_per_sec: 5_000 })).unwrap();
        f.push(FaultRule::on("/a", FaultAction::Bandwidth { bytes_per_sec: 2_000 })).unwrap();
        f.push(FaultRule::on("/a", FaultAction::Delay { ms: 40 })).unwrap();
        let a = f.decide("/a");
        assert_eq!((a.bandwidth, a.delay, a.action), (Some(2_000), Duration::from_millis(40), None));
        assert_eq!(f.decide("/b").bandwidth, Some(5_000));
    }

    #[tokio::test]
    async fn a_throttled_body_keeps_every_byte_in_order() {
        use http_body_util::BodyExt;
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..64u8).map(|i| Ok(vec![i; 1000 + i as usize])).collect();
        let expected: Vec<u8> = chunks.iter().flat_map(|c| c.as_ref().unwrap().clone()).collect();
        let body = throttled(Body::from_stream(futures_util::stream::iter(chunks)), 1 << 30);
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(got.as_ref(), expected.as_slice());
    }

    #[tokio::test]
    async fn a_huge_answer_is_json_of_the_exact_size_made_as_it_goes() {
        use http_body_util::BodyExt;
        let resp = huge_answer(200_000);
        assert_eq!(resp.headers()[header::CONTENT_LENGTH], "200000");
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(got.len(), 200_000);
        let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(v["data"].as_str().unwrap().len(), 200_000 - 11);
        let bad = FaultRule::anywhere(FaultAction::RawRetryAfter { status: 429, value: "a\nb".into() });
        assert!(bad.validate().is_err());
        FaultRule::anywhere(FaultAction::RawRetryAfter { status: 503, value: "NaN".into() }).validate().unwrap();
    }

    #[test]
    fn next_n_fires_then_stops() {
        let f = Faults::new();
        f.push(FaultRule::on("/a", FaultAction::HttpStatus { status: 503 }).times(2))
            .unwrap();
        assert_eq!(pattern(&f, "/a", 4), [true, true, false, false]);
        assert_eq!(pattern(&f, "/b", 1), [false]);
    }

    #[test]
    fn every_nth_is_deterministic() {
        let f = Faults::new();
        f.push(FaultRule::anywhere(FaultAction::HttpStatus { status: 500 }).every(3))
            .unwrap();
        assert_eq!(
            pattern(&f, "/x", 7),
            [false, false, true, false, false, true, false]
        );
    }

    #[test]
    fn random_is_reproducible_from_seed() {
        let rule = FaultRule::anywhere(FaultAction::HttpStatus { status: 500 }).randomly(0.5, 42);
        let (a, b) = (Faults::new(), Faults::new());
        a.push(rule.clone()).unwrap();
        b.push(rule).unwrap();
        let pa = pattern(&a, "/x", 64);
        assert_eq!(pa, pattern(&b, "/x", 64));
        let hits = pa.iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits} hits of 64 at p=0.5");
    }

    #[test]
    fn first_terminal_rule_wins_and_delays_add_up() {
        let f = Faults::new();
        f.set(vec![
            FaultRule::anywhere(FaultAction::Delay { ms: 5 }),
            FaultRule::anywhere(FaultAction::HttpStatus { status: 502 }).times(1),
            FaultRule::anywhere(FaultAction::Delay { ms: 7 }),
            FaultRule::anywhere(FaultAction::Throttle {
                retry_after_secs: 1,
            })
            .times(1),
        ])
        .unwrap();
        let d = f.decide("/p");
        assert_eq!(d.delay, Duration::from_millis(12));
        assert_eq!(d.action, Some(FaultAction::HttpStatus { status: 502 }));
        // The throttle rule was not evaluated the first time, so it fires now.
        assert_eq!(
            f.decide("/p").action,
            Some(FaultAction::Throttle {
                retry_after_secs: 1
            })
        );
        assert_eq!(f.decide("/p").action, None);
    }

    #[test]
    fn rules_round_trip_through_json_and_reject_typos() {
        let json = r#"[{"path":"/u","action":{"kind":"business_error","code":10002},
                        "trigger":{"mode":"every_nth","k":2,"max_fires":3}}]"#;
        let rules: Vec<FaultRule> = serde_json::from_str(json).unwrap();
        assert_eq!(
            rules[0].trigger,
            Trigger::EveryNth {
                k: 2,
                max_fires: Some(3)
            }
        );
        let typo = r#"[{"path":"/u","action":{"kind":"http_status","statu":500},"trigger":{"mode":"always"}}]"#;
        assert!(serde_json::from_str::<Vec<FaultRule>>(typo).is_err());
        let bad = FaultRule::anywhere(FaultAction::HttpStatus { status: 1000 });
        assert!(Faults::new().set(vec![bad]).is_err());
    }
}
