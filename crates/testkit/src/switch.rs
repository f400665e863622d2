//! A TCP forwarder a service under test is pointed at instead of one of its
//! dependencies: the dependency can be started later (after the service
//! that needs its address), taken away, or replaced by another on the same
//! data, without rebinding a port. While it routes nowhere it closes every
//! connection at once, as a downed server would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Switch {
    pub addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
}

impl Switch {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind switch");
        let switch = Switch { addr: listener.local_addr().expect("addr"), target: Arc::default() };
        let target = switch.target.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Some(to) = *target.lock().expect("lock") else {
                    continue; // dropped: the connection is closed
                };
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        switch
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// New connections go to `target` (`None`: refused).
    pub fn route_to(&self, target: Option<SocketAddr>) {
        *self.target.lock().expect("lock") = target;
    }
}
