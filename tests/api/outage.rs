//! While PostgreSQL is unreachable requests get a quick 503; when it is back the service
//! recovers without a restart. A TCP proxy in the test stands between the app and PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{TestDatabase, problem, server_url, spawn_on_url};

/// Forwards 127.0.0.1:<port> to PostgreSQL until `down`.
struct Proxy {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    fn new(target: String) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            target,
            tasks: Arc::default(),
        }
    }

    fn up(&self) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(([127, 0, 0, 1], self.port).into()).unwrap();
        let listener = socket.listen(64).unwrap();
        let (target, tasks) = (self.target.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every forwarded connection.
    fn down(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// `host:port` of the test PostgreSQL server.
fn postgres_address() -> String {
    let url = server_url();
    let host_port = url.rsplit('@').next().unwrap_or(&url).trim_start_matches("postgres://");
    let host_port = host_port.split('/').next().unwrap_or(host_port);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    }
}

#[tokio::test]
async fn requests_get_503_while_the_database_is_down_and_recover_after() {
    let db = TestDatabase::new();
    let proxy = Proxy::new(postgres_address());
    proxy.up();
    let credentials = server_url()
        .rsplit_once('@')
        .map(|(c, _)| format!("{c}@"))
        .unwrap_or_else(|| "postgres://".to_owned());
    let url = format!("{credentials}127.0.0.1:{}/{}", proxy.port, db.name);
    let app = spawn_on_url(db, &url).await;
    let token = app.admin();
    assert_eq!(app.get("/api/v1/users", &token).await.status(), StatusCode::OK);

    proxy.down();
    for _ in 0..3 {
        let started = Instant::now();
        problem(app.get("/api/v1/users", &token).await, StatusCode::SERVICE_UNAVAILABLE).await;
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "503 within a few seconds, took {:?}",
            started.elapsed()
        );
    }
    let readyz = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    problem(readyz, StatusCode::SERVICE_UNAVAILABLE).await;
    let healthz = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(healthz.status(), StatusCode::OK, "the process itself is alive");

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = app.get("/api/v1/users", &token).await.status();
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "did not recover, last status {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    proxy.down();
}
