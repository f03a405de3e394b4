//! Loopback HTTP/1.1 server whose handlers can really drop their connection.
//!
//! `axum::serve` gives a handler no way to kill the socket without answering, so this module
//! runs its own accept loop: each connection gets a [`ConnectionKiller`] (a request extension);
//! firing it drops the hyper connection and with it the TCP stream, mid-request.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// Request extension: closes the connection the request came on, without an answer.
#[derive(Clone)]
pub(crate) struct ConnectionKiller(Arc<Notify>);

impl ConnectionKiller {
    pub(crate) fn kill(&self) {
        // notify_one keeps a permit, so the kill lands even if the connection task is busy.
        self.0.notify_one();
    }
}

/// A running server; stops accepting and closes every connection when dropped.
pub(crate) struct ServerHandle {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl ServerHandle {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Request extension: the path as the client sent it, before the mount prefix was taken off
/// (what a client signs when it signs its request line).
#[derive(Clone)]
pub(crate) struct SentPath(pub(crate) String);

/// The request's path as sent (prefix included).
pub(crate) fn sent_path(req: &axum::extract::Request) -> &str {
    req.extensions().get::<SentPath>().map_or(req.uri().path(), |p| p.0.as_str())
}

/// A path prefix the whole mock is served under, as a gateway in front of a cloud API would
/// put it (`/some/prefix`): every request must start with it, or it gets a 404.
pub(crate) fn normalize_prefix(prefix: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        format!("/{p}")
    }
}

/// Binds `127.0.0.1:port` (0 = any free port) and serves `router` under `prefix` (see
/// [`normalize_prefix`]) until the handle is dropped.
pub(crate) async fn serve(router: Router, port: u16, prefix: &str) -> io::Result<ServerHandle> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let (shutdown, stop) = watch::channel(false);
    let prefix: Arc<str> = normalize_prefix(prefix).into();
    tokio::spawn(accept_loop(listener, router, prefix, stop));
    Ok(ServerHandle { addr, shutdown })
}

/// Takes the mount prefix off `req`'s path; `None` when the path is not under it.
fn unmount<B>(mut req: hyper::Request<B>, prefix: &str) -> Option<hyper::Request<B>> {
    if prefix.is_empty() {
        return Some(req);
    }
    let sent = req.uri().path().to_owned();
    let rest = sent.strip_prefix(prefix)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    *req.uri_mut() = hyper::Uri::from_parts(parts).ok()?;
    req.extensions_mut().insert(SentPath(sent));
    Some(req)
}

async fn accept_loop(listener: TcpListener, router: Router, prefix: Arc<str>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            // A send or a dropped sender both mean "stop".
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, router.clone(), prefix.clone(), stop.clone()));
                }
                // Transient (e.g. out of file descriptors): back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

async fn serve_connection(stream: TcpStream, router: Router, prefix: Arc<str>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let killer = ConnectionKiller(kill.clone());
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(killer.clone());
        let router = router.clone();
        let req = unmount(req, &prefix);
        async move {
            match req {
                Some(req) => router.oneshot(req.map(axum::body::Body::new)).await,
                // Outside the mount: what a gateway answers for a path it does not route.
                None => Ok(axum::response::IntoResponse::into_response((
                    axum::http::StatusCode::NOT_FOUND,
                    "no route for this path under the mount prefix",
                ))),
            }
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    // Whichever ends first wins; dropping `conn` closes the socket.
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = stop.changed() => {}
    }
}
