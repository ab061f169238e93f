//! What notices trust when they go out over TLS (HTTPS webhooks and Slack,
//! SMTP with STARTTLS or implicit TLS): the system's CA certificates, as
//! rustls-platform-verifier finds them (on Linux the system store, e.g.
//! Debian's `ca-certificates` in `/etc/ssl/certs`; `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` override it), plus those of an optional PEM file
//! ([`CaFile`]: `--ca-file`, the `ca_file` key) for operators with a private
//! CA. A server's certificate must chain to one of them and name the host
//! bugyo connected to; there is no way to turn that off. The cryptography
//! is rustls with the ring provider.
//!
//! With no CA certificate at all (no system store, no CA file), every TLS
//! connection is refused with an error saying so; plain HTTP, plain SMTP
//! and syslog still work.

use lettre::transport::smtp::client::{Certificate, TlsParameters};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A PEM file of CA certificates trusted besides the system's, read and
/// checked once.
#[derive(Clone, Debug)]
pub struct CaFile {
    path: PathBuf,
    certs: Vec<CertificateDer<'static>>,
}

impl CaFile {
    /// Reads the CA certificates in the PEM file `path` (anything else in
    /// it is ignored). Errors, in English and Japanese, name the file: it
    /// cannot be read, holds no certificate, or one is not usable as a CA.
    pub fn load(path: &Path) -> Result<CaFile, String> {
        let shown = path.display();
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{shown}: cannot read ({e}) / {shown} を読めません"))?;
        let certs = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{shown}: not PEM ({e}) / {shown} は PEM として読めません"))?;
        if certs.is_empty() {
            return Err(format!(
                "{shown}: no CERTIFICATE in it / {shown} に証明書 (CERTIFICATE) がありません"
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for (i, cert) in certs.iter().enumerate() {
            roots.add(cert.clone()).map_err(|e| {
                format!(
                    "{shown}: certificate {n} cannot be a CA ({e}) / {shown} の {n} 番目の証明書は CA として使えません",
                    n = i + 1
                )
            })?;
        }
        Ok(CaFile {
            path: path.to_path_buf(),
            certs,
        })
    }

    /// [`CaFile::load`] for a command-line value.
    pub fn from_arg(path: &str) -> Result<CaFile, String> {
        CaFile::load(Path::new(path))
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many certificates it holds.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether it holds none (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

/// The cryptography: rustls's ring provider.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates trusted besides the system's.
fn extra(ca_file: Option<&CaFile>) -> Vec<CertificateDer<'static>> {
    ca_file.map(|c| c.certs.clone()).unwrap_or_default()
}

/// The TLS client configuration for HTTPS: the system's CAs and
/// `ca_file`'s; with none at all, one that refuses every server saying so.
pub(crate) fn client_config(ca_file: Option<&CaFile>) -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> =
        match rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra(ca_file),
            Arc::clone(&provider),
        ) {
            Ok(v) => Arc::new(v),
            Err(e) => Arc::new(NoTrust {
                why: format!(
                    "no CA certificate to verify servers with ({e}): install the system's CA certificates or give --ca-file / サーバを検証する CA 証明書がありません。システムの CA 証明書を入れるか --ca-file を指定してください"
                ),
                schemes: provider
                    .signature_verification_algorithms
                    .supported_schemes(),
            }),
        };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// lettre's TLS parameters for the SMTP relay `host`: the same trust as
/// [`client_config`], TLS 1.2 at least.
pub(crate) fn smtp_parameters(
    host: &str,
    ca_file: Option<&CaFile>,
) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(host.to_string());
    for der in extra(ca_file) {
        let cert = Certificate::from_der(der.to_vec()).map_err(|e| format!("TLS: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| format!("TLS for {host}: {e}"))
}

/// A verifier that trusts nothing, for when there is no CA certificate:
/// every handshake fails with `why`.
#[derive(Debug)]
struct NoTrust {
    why: String,
    schemes: Vec<SignatureScheme>,
}

impl NoTrust {
    fn refuse<T>(&self) -> Result<T, rustls::Error> {
        Err(rustls::Error::General(self.why.clone()))
    }
}

impl ServerCertVerifier for NoTrust {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.refuse()
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.refuse()
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.refuse()
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_files_are_named_and_explained() {
        let dir = std::env::temp_dir().join(format!("bugyo-notify-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let e = CaFile::load(&missing).unwrap_err();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read") && e.contains("読めません"),
            "{e}"
        );
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "just text\n").unwrap();
        let e = CaFile::load(&empty).unwrap_err();
        assert!(
            e.contains("empty.pem") && e.contains("no CERTIFICATE"),
            "{e}"
        );
        let broken = dir.join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = CaFile::load(&broken).unwrap_err();
        assert!(
            e.contains("broken.pem") && e.contains("cannot be a CA"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_http_client_takes_the_configuration() {
        // reqwest accepts a preconfigured rustls configuration only from
        // its own rustls version: this fails if the two drift apart.
        let config = client_config(None).unwrap();
        reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .build()
            .unwrap();
    }
}
