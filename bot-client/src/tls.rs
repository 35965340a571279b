//! How bots trust a `wss://` server: the public web PKI (the default), a CA file
//! (`--ca PATH`, e.g. the certificate of a development server), or nothing at all
//! (`--insecure`, for a self-signed development server whose certificate you do not
//! have). The bots' `wss://` connections and their `https://` matchmaking requests both
//! use it; `ws://` and `http://` URLs ignore it.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use tokio_tungstenite::Connector;

/// Which server certificates the bots accept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsTrust {
    /// Certificates that chain to the public web PKI (Mozilla's roots).
    #[default]
    WebPki,
    /// Certificates that chain to these (DER) certificates.
    Ca(Vec<CertificateDer<'static>>),
    /// Any certificate, unchecked: for development servers only.
    Insecure,
}

/// A CA file that could not be used.
#[derive(Debug, Error)]
pub enum TlsTrustError {
    /// Not readable, or not PEM certificates.
    #[error("reading certificates from {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file held no certificate.
    #[error("{0} holds no certificate")]
    Empty(PathBuf),
}

impl TlsTrust {
    /// Trusts the PEM certificates in `path`.
    pub fn ca_file(path: &Path) -> Result<TlsTrust, TlsTrustError> {
        let read_error = |message: String| TlsTrustError::Read {
            path: path.to_owned(),
            message,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|error| read_error(error.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| read_error(error.to_string()))?;
        if certs.is_empty() {
            return Err(TlsTrustError::Empty(path.to_owned()));
        }
        Ok(TlsTrust::Ca(certs))
    }

    /// The connector every bot of a run shares (one TLS configuration, one session cache).
    pub(crate) fn connector(&self) -> Connector {
        Connector::Rustls(Arc::new(self.client_config()))
    }

    /// The rustls configuration of this trust: the WebSocket connector's, and the
    /// matchmaking client's (`https://`), so both trust the same servers.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("the default provider supports the default protocol versions");
        match self {
            TlsTrust::WebPki => builder
                .with_root_certificates(RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                })
                .with_no_client_auth(),
            TlsTrust::Ca(certs) => {
                let mut roots = RootCertStore::empty();
                // Certificates rustls cannot use as roots are skipped; the handshake then
                // fails with a clear "unknown issuer".
                roots.add_parsable_certificates(certs.iter().cloned());
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            TlsTrust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                .with_no_client_auth(),
        }
    }
}

/// `--insecure`: accepts any certificate but still checks that the server holds its
/// key (the handshake signatures), so the connection is encrypted, only unauthenticated.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
