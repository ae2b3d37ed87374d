//! `keel-echo`: a tiny TCP server for tests and demos of the process runtime. It
//! listens on `$POD_IP:$PORT` (default `127.0.0.1:8080`), greets each connection with
//! its `$POD_NAME` (when the client has not spoken within 100 ms) and echoes what it
//! is sent; an HTTP `GET` gets `200 OK` and the name (so it can be probed).

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn main() -> std::io::Result<()> {
    let ip = std::env::var("POD_IP")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(8080);
    let name = std::env::var("POD_NAME").unwrap_or_else(|_| "keel-echo".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((ip.as_str(), port)).await?;
        println!("listening on {ip}:{port}");
        loop {
            let (socket, _) = listener.accept().await?;
            let name = name.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                // An HTTP client speaks first; an echo client waits for the greeting.
                let first =
                    tokio::time::timeout(std::time::Duration::from_millis(100), lines.next_line())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .flatten()
                        .unwrap_or_default();
                if first.starts_with("GET ") {
                    let _ = write
                        .write_all(format!("HTTP/1.0 200 OK\r\n\r\n{name}\n").as_bytes())
                        .await;
                    return;
                }
                if write
                    .write_all(format!("{name}\n").as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
                let mut line = first;
                loop {
                    if !line.is_empty()
                        && write
                            .write_all(format!("{line}\n").as_bytes())
                            .await
                            .is_err()
                    {
                        return;
                    }
                    match lines.next_line().await {
                        Ok(Some(l)) => line = l,
                        _ => return,
                    }
                }
            });
        }
    })
}
