//! TLS for the game port: rustls (aws-lc-rs provider) through tokio-rustls.
//!
//! The certificate comes from PEM files (`--tls-cert`, `--tls-key`) or, for development,
//! is made at start with rcgen (`--tls-self-signed`). A self-signed certificate is
//! trusted by nobody, so its fingerprints are logged: the certificate's SHA-256 (what a
//! browser shows) and its public key's SHA-256 in base64 (what Chromium's
//! `--ignore-certificate-errors-spki-list` takes).

use crate::config::TlsConfig;
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use rcgen::PublicKeyData;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use tokio_rustls::TlsAcceptor;

/// Why TLS could not be set up.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A PEM file could not be read or held nothing usable.
    #[error("reading {what} from {path}: {message}")]
    Pem {
        /// "certificates" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// rcgen could not make the development certificate.
    #[error("making a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("tls configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A ready acceptor and what to log about its certificate.
pub struct Tls {
    /// Wraps accepted sockets.
    pub acceptor: TlsAcceptor,
    /// SHA-256 of the leaf certificate (DER), as colon-separated hex.
    pub cert_sha256: String,
    /// For a self-signed certificate, SHA-256 of its SubjectPublicKeyInfo in base64:
    /// the value Chromium's `--ignore-certificate-errors-spki-list` takes.
    pub spki_sha256_base64: Option<String>,
}

/// Builds the acceptor `config` asks for, or `None` when TLS is off.
pub fn acceptor(config: &TlsConfig, bind: SocketAddr) -> Result<Option<Tls>, TlsError> {
    let (chain, key, spki) = match (&config.cert, &config.key) {
        (Some(cert), Some(key)) => (read_chain(cert)?, read_key(key)?, None),
        _ if config.self_signed => self_signed(bind)?,
        _ => return Ok(None),
    };
    let leaf = chain.first().ok_or_else(|| TlsError::Pem {
        what: "certificates",
        path: config.cert.clone().unwrap_or_default(),
        message: "no certificate in the file".to_owned(),
    })?;
    let cert_sha256 = hex_colons(&Sha256::digest(leaf.as_ref()));
    let spki_sha256_base64 = spki.map(|spki: Vec<u8>| BASE64_STANDARD.encode(Sha256::digest(spki)));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // WebSocket upgrades are HTTP/1.1 requests.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        cert_sha256,
        spki_sha256_base64,
    }))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |message: String| TlsError::Pem {
        what: "certificates",
        path: path.to_owned(),
        message,
    };
    CertificateDer::pem_file_iter(path)
        .map_err(|error| pem_error(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error(error.to_string()))
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| TlsError::Pem {
        what: "private key",
        path: path.to_owned(),
        message: error.to_string(),
    })
}

/// A certificate chain, its key, and for a self-signed one its public key (DER).
type CertifiedKey = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, Option<Vec<u8>>);

/// A certificate and key for `localhost`, 127.0.0.1 and the bind address.
fn self_signed(bind: SocketAddr) -> Result<CertifiedKey, TlsError> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if !bind.ip().is_unspecified() && !names.contains(&bind.ip().to_string()) {
        names.push(bind.ip().to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names)?;
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let spki = certified.signing_key.subject_public_key_info();
    Ok((vec![certified.cert.der().clone()], key, Some(spki)))
}

fn hex_colons(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}
