//! Connections to the target: plain TCP or TLS (rustls with ring), HTTP/1 handshakes, and
//! one keep-alive connection's requests.

use super::*;

/// How to open a connection to the target: TCP, and TLS for an https target.
pub(super) struct Dialer {
    pub(super) addr: String,
    pub(super) tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
}

/// What went wrong opening a connection.
pub(super) enum DialError {
    Connect(String),
    Tls(String),
}

impl Dialer {
    pub(super) fn new(s: &Scenario, target: &Target) -> Result<Dialer, LoadError> {
        let tls = if target.tls {
            let mut roots = rustls::RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            let mut extra = 0;
            if let Some(p) = &s.ca_cert {
                use rustls::pki_types::{CertificateDer, pem::PemObject};
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
                    .and_then(|it| it.collect::<Result<_, _>>())
                    .map_err(|e| {
                        LoadError::Input(format!(
                            "ca_cert {}: not a PEM file of certificates: {e}",
                            p.display()
                        ))
                    })?;
                for c in certs {
                    roots.add(c).map_err(|e| {
                        LoadError::Input(format!(
                            "ca_cert {}: a certificate is unusable: {e}",
                            p.display()
                        ))
                    })?;
                    extra += 1;
                }
                if extra == 0 {
                    return Err(LoadError::Input(format!(
                        "ca_cert {}: holds no certificate",
                        p.display()
                    )));
                }
            }
            if added + extra == 0 {
                return Err(LoadError::Input(
                    "https target: no trusted CA certificates (the system has none; pass --ca-cert FILE)".into(),
                ));
            }
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| LoadError::Unreachable(format!("TLS set-up: {e}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
            let name = rustls::pki_types::ServerName::try_from(target.server_name.clone())
                .map_err(|e| {
                    LoadError::Input(format!(
                        "`{}`: not a TLS server name: {e}",
                        target.server_name
                    ))
                })?;
            Some((tokio_rustls::TlsConnector::from(Arc::new(cfg)), name))
        } else {
            None
        };
        Ok(Dialer {
            addr: target.addr.clone(),
            tls,
        })
    }

    pub(super) async fn open(&self) -> Result<Sender, DialError> {
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| DialError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        match &self.tls {
            None => handshake(hyper_util::rt::TokioIo::new(stream)).await,
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|e| DialError::Tls(e.to_string()))?;
                handshake(hyper_util::rt::TokioIo::new(tls)).await
            }
        }
    }
}

/// HTTP/1 over an open stream; the connection is driven by its own task.
pub(super) async fn handshake<T>(io: T) -> Result<Sender, DialError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| DialError::Connect(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One keep-alive connection, reopened after a failure.
pub(super) struct Conn {
    pub(super) dialer: Arc<Dialer>,
    pub(super) sender: Option<Sender>,
}

impl Conn {
    pub(super) fn new(dialer: Arc<Dialer>) -> Conn {
        Conn {
            dialer,
            sender: None,
        }
    }

    /// Send one request and read its answer: the verdict and the body's size in bytes. The
    /// body is counted as it streams in, not kept: only the last bytes that could begin the
    /// expected text are held between chunks.
    pub(super) async fn send(
        &mut self,
        t: &Template,
        req: hyper::Request<Full<Bytes>>,
    ) -> (Ended, u64) {
        let dialer = self.dialer.clone();
        let slot = &mut self.sender;
        let mut bytes = 0u64;
        let counted = &mut bytes;
        let work = async {
            if slot.as_ref().is_none_or(|s| s.is_closed()) {
                *slot = None;
                *slot = Some(dialer.open().await.map_err(|_| Ended::Connect)?);
            }
            let s = slot.as_mut().ok_or(Ended::Connect)?;
            s.ready().await.map_err(|_| Ended::Connect)?;
            let resp = s.send_request(req).await.map_err(|e| {
                // An answer that is not HTTP/1 is the server's fault, not the network's.
                if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
                    Ended::Protocol
                } else {
                    Ended::Connect
                }
            })?;
            let status = resp.status().as_u16();
            let want = t.expect_body.as_deref().map(str::as_bytes);
            let mut found = want.is_none_or(<[u8]>::is_empty);
            let mut tail: Vec<u8> = Vec::new();
            let mut body = resp.into_body();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| Ended::Body)?;
                let Ok(chunk) = frame.into_data() else {
                    continue;
                };
                *counted += chunk.len() as u64;
                if let (false, Some(w)) = (found, want) {
                    tail.extend_from_slice(&chunk);
                    found = tail.windows(w.len()).any(|x| x == w);
                    let keep = w.len() - 1;
                    if tail.len() > keep {
                        tail.drain(..tail.len() - keep);
                    }
                }
            }
            Ok::<Ended, Ended>(t.judge(status, found))
        };
        let ended = match tokio::time::timeout(t.timeout, work).await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                self.sender = None;
                e
            }
            Err(_) => {
                // The connection may still carry the late answer: start afresh.
                self.sender = None;
                Ended::Timeout
            }
        };
        (ended, bytes)
    }
}
