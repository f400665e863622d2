//! `<service> healthcheck`: the container HEALTHCHECK. Runtime images carry
//! no curl, so the binary probes its own `/healthz` over plain HTTP/1.0.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Succeeds when `GET /healthz` on `http_addr` answers 200 within 3 s.
/// An unspecified listen address (`0.0.0.0`) is probed on loopback.
pub async fn probe(http_addr: SocketAddr) -> anyhow::Result<()> {
    let mut addr = http_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n").await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        anyhow::ensure!(head.ends_with(b"200"), "unhealthy: {}", String::from_utf8_lossy(&head));
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(3), check).await.map_err(|_| anyhow::anyhow!("healthcheck timed out"))?
}
