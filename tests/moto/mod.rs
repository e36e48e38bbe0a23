//! A real S3-compatible server for the object-storage tests: moto's standalone server (PyPI
//! `moto[server]`, pinned in scripts/requirements-interop.txt) from the interoperability venv,
//! on 127.0.0.1, killed when dropped. moto binds port 0 itself and the port is read back from its
//! start-up line, so no other process can take the port between choosing and binding it. The tests talk to it over HTTP through the
//! same `object_store` client as real S3; nothing of the client is mocked.
#![allow(dead_code, clippy::unwrap_used)]

use super::common::python;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStderr, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long moto may take to start (a cold venv imports boto and flask).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server with one bucket.
pub struct Moto {
    child: Child,
    port: u16,
    /// The bucket created at start.
    pub bucket: String,
    /// The request lines moto logged (`PUT /bucket/key HTTP/1.1`), in order.
    log: Arc<Mutex<Vec<String>>>,
}

impl Moto {
    /// Starts moto on a port the OS gives it, waits until it answers and creates `bucket`.
    /// Panics (the test fails loudly) if moto is not installed or does not start.
    pub fn start(bucket: &str) -> Moto {
        let mut child = python()
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto starts: pip install -r scripts/requirements-interop.txt");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let port = match read_port(stderr, Arc::clone(&log)) {
            Ok(port) => port,
            Err(said) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "moto did not report its port ({status:?}): is moto[server] installed in \
                     the venv? {said}"
                );
            }
        };
        let mut moto = Moto {
            child,
            port,
            bucket: bucket.to_string(),
            log,
        };
        moto.wait_ready();
        let status = moto.request("PUT", &format!("/{bucket}"));
        assert_eq!(status, 200, "moto could not create bucket {bucket}");
        moto
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://BUCKET/KEY`.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The environment a client needs to reach this server (any credentials do).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// The requests moto has served so far, as `METHOD /path?query STATUS` (from its log).
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The keys stored under `prefix`, from a plain ListObjectsV2 request.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let body = self.get(&format!("/{}?list-type=2&prefix={prefix}", self.bucket));
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect()
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < START_TIMEOUT {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("moto exited at start ({status}): is moto[server] installed in the venv?");
            }
            if self
                .try_send("GET", "/")
                .is_ok_and(|r| r.split_whitespace().nth(1) == Some("200"))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto did not answer on port {} within 60 s", self.port);
    }

    /// Sends a bodiless request; returns the HTTP status.
    fn request(&self, method: &str, path: &str) -> u16 {
        let response = self.send(method, path);
        response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    fn get(&self, path: &str) -> String {
        self.send("GET", path)
    }

    fn send(&self, method: &str, path: &str) -> String {
        self.try_send(method, path).unwrap()
    }

    fn try_send(&self, method: &str, path: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of werkzeug's start-up line ` * Running on http://127.0.0.1:PORT`, read from moto's
/// stderr; otherwise what moto said before it ended or stayed silent for [`START_TIMEOUT`]. A
/// thread keeps draining stderr afterwards (moto logs every request there), so moto never blocks
/// on a full pipe, and keeps each request's `METHOD /path` in `log`.
fn read_port(stderr: ChildStderr, log: Arc<Mutex<Vec<String>>>) -> Result<u16, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        let mut seen = String::new();
        let mut tx = Some(tx);
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let text = String::from_utf8_lossy(&line);
            let port = text
                .split_once("Running on http://127.0.0.1:")
                .and_then(|(_, rest)| rest.trim().parse::<u16>().ok());
            match (port, tx.take()) {
                (Some(port), Some(sender)) => {
                    let _ = sender.send(Ok(port));
                }
                (None, Some(sender)) => {
                    seen.push_str(&text);
                    tx = Some(sender);
                }
                (_, None) => {
                    // werkzeug: `127.0.0.1 - - [date] "PUT /bucket/key HTTP/1.1" 200 -`,
                    // coloured by status with ANSI escapes.
                    let plain = strip_ansi(&text);
                    let mut parts = plain.split('"');
                    if let (Some(request), Some(rest)) = (parts.nth(1), parts.next()) {
                        let mut words = request.split_whitespace();
                        let status = rest.split_whitespace().next().unwrap_or("?");
                        if let (Some(method), Some(path)) = (words.next(), words.next()) {
                            log.lock()
                                .unwrap()
                                .push(format!("{method} {path} {status}"));
                        }
                    }
                }
            }
            line.clear();
        }
        if let Some(sender) = tx {
            let _ = sender.send(Err(format!("moto's stderr ended:\n{seen}")));
        }
    });
    rx.recv_timeout(START_TIMEOUT)
        .unwrap_or_else(|_| Err(format!("moto said nothing within {START_TIMEOUT:?}")))
}

/// `text` without ANSI escape sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
