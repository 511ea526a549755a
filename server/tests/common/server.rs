//! DockerPulse as its own process (the real binary): its config, start and SIGKILL, memory,
//! plain HTTP to it, its interventions, and another process locking its database.

use super::{eventually, ADMIN_TOKEN};
use std::process::Command;
use std::time::Duration;

/// A plain HTTP/1.1 GET to a DockerPulse running as a separate process.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<(u16, serde_json::Value)> {
    http_request(addr, "GET", path, None).await
}

/// A plain HTTP/1.1 POST with no body and the admin token, to a separate process.
pub async fn http_post(addr: std::net::SocketAddr, path: &str) -> Option<(u16, serde_json::Value)> {
    http_request(addr, "POST", path, Some(ADMIN_TOKEN)).await
}

async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Option<(u16, serde_json::Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    ))
}

/// Config that opts in one container by name (not by label), so DockerPulse instances of tests
/// running side by side never act on each other's containers.
pub fn opt_in(name: &str, action: &str) -> String {
    format!("[heal.containers]\n\"{name}\" = \"{action}\"\n")
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// DockerPulse running as its own process (the real binary), killed when dropped so a failing
/// test leaves nothing running.
pub struct Server {
    child: std::process::Child,
    pub addr: std::net::SocketAddr,
    pub config: std::path::PathBuf,
}

impl Server {
    /// Writes a config for a DockerPulse in `dir` (its store in `dir/data`, reports in
    /// `dir/reports`) listening on a free port; `extra` is appended as TOML.
    pub fn config(
        dir: &std::path::Path,
        extra: &str,
    ) -> (std::path::PathBuf, std::net::SocketAddr) {
        std::fs::create_dir_all(dir).expect("dir");
        let addr: std::net::SocketAddr =
            format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let config = dir.join("dockerpulse.toml");
        std::fs::write(
            &config,
            format!(
                "bind = \"{addr}\"\ndata_dir = \"{}\"\nreports_dir = \"{}\"\nsite_root = \"/nonexistent\"\n\
                 demo_when_no_engine = false\nadmin_token = \"{ADMIN_TOKEN}\"\n{extra}\n",
                dir.join("data").display(),
                dir.join("reports").display()
            ),
        )
        .expect("config");
        (config, addr)
    }

    /// Starts the binary with `config`; its log goes next to the config (`.log`, appended).
    pub fn spawn(config: &std::path::Path, addr: std::net::SocketAddr) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_extension("log"));
        let (out, err) = match log.and_then(|f| Ok((f.try_clone()?, f))) {
            Ok((a, b)) => (std::process::Stdio::from(a), std::process::Stdio::from(b)),
            Err(_) => (std::process::Stdio::null(), std::process::Stdio::null()),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_dockerpulse"))
            .args(["--config", &config.to_string_lossy(), "serve"])
            .env("RUST_LOG", "info")
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("dockerpulse starts");
        Self {
            child,
            addr,
            config: config.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running (it did not panic or exit).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// GET on the running server.
    pub async fn get(&self, path: &str) -> Option<(u16, serde_json::Value)> {
        http_get(self.addr, path).await
    }

    /// Waits until `/api/health` answers.
    pub async fn ready(&self) {
        let up = eventually(Duration::from_secs(30), || async {
            self.get("/api/health").await.filter(|(s, _)| *s == 200)
        })
        .await;
        assert!(
            up.is_some(),
            "DockerPulse answers: see {}",
            self.config.with_extension("log").display()
        );
    }

    /// Resident memory in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// Resident anonymous memory (heap and stacks, not the binary's pages) in KiB.
    pub fn rss_anon_kib(&self) -> u64 {
        self.status_kib("RssAnon:")
    }

    fn status_kib(&self, key: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Every intervention of a container (all of them for ""), oldest first, from a server's API.
pub async fn interventions_of(server: &Server, container: &str) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    let mut offset = 0;
    let filter = if container.is_empty() {
        String::new()
    } else {
        format!("container={container}&")
    };
    loop {
        let Some((200, page)) = server
            .get(&format!(
                "/api/interventions?{filter}limit=500&offset={offset}"
            ))
            .await
        else {
            return all;
        };
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let n = items.len();
        all.extend(items);
        offset += n;
        if n < 500 {
            break;
        }
    }
    all.reverse();
    all
}

/// Another process holding an exclusive lock on a SQLite database for `secs` (Python's sqlite3).
pub fn lock_database(db: &std::path::Path, secs: u64) -> std::process::Child {
    let script = "import sqlite3, sys, time\n\
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n\
c.execute('BEGIN EXCLUSIVE')\n\
print('locked', flush=True)\n\
time.sleep(float(sys.argv[2]))\n\
c.execute('COMMIT')\n";
    let mut child = Command::new("python3")
        .args(["-c", script, &db.to_string_lossy(), &secs.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    // Wait until the lock is really held.
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("python says it locked");
    assert_eq!(line.trim(), "locked");
    child
}
