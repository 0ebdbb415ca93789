//! TLS for probing and listening. The prober's verifier accepts any certificate and records it, so a
//! wrong or expired certificate is reported rather than hiding whether the port is reachable. The
//! listener uses a throwaway self-signed certificate for its host.

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// What the server's certificate says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    /// `YYYY-MM-DD`
    pub not_after: String,
    pub days_left: i64,
    pub self_signed: bool,
}

impl CertificateInfo {
    pub fn summary(&self) -> String {
        let sans = if self.sans.is_empty() {
            "no SAN".to_string()
        } else {
            self.sans.join(",")
        };
        let expiry = if self.days_left < 0 {
            format!("EXPIRED {}", self.not_after)
        } else {
            format!("expires {} ({}d)", self.not_after, self.days_left)
        };
        format!("cert {} [{}] {}", self.subject, sans, expiry)
    }
}

/// Reads the interesting parts of a DER certificate.
pub fn certificate_info(der: &[u8]) -> Option<CertificateInfo> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.push(d.to_string()),
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    sans.push(IpAddr::from(<[u8; 4]>::try_from(*b).ok()?).to_string())
                }
                GeneralName::IPAddress(b) if b.len() == 16 => {
                    sans.push(IpAddr::from(<[u8; 16]>::try_from(*b).ok()?).to_string())
                }
                _ => {}
            }
        }
    }
    let not_after = cert.validity().not_after;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days_left = (not_after.timestamp() - now).div_euclid(86_400);
    let date = not_after.to_datetime();
    Some(CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_after: format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        days_left,
        self_signed: cert.subject() == cert.issuer(),
    })
}

/// Accepts every certificate and keeps the server's end-entity certificate.
#[derive(Debug)]
pub struct RecordingVerifier {
    seen: Mutex<Option<Vec<u8>>>,
    schemes: Vec<rustls::SignatureScheme>,
}

impl RecordingVerifier {
    pub fn new() -> Arc<Self> {
        let provider = rustls::crypto::ring::default_provider();
        Arc::new(RecordingVerifier {
            seen: Mutex::new(None),
            schemes: provider
                .signature_verification_algorithms
                .supported_schemes(),
        })
    }
    pub fn certificate(&self) -> Option<Vec<u8>> {
        self.seen.lock().ok()?.clone()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.to_vec());
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _m: &[u8],
        _c: &CertificateDer<'_>,
        _d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _m: &[u8],
        _c: &CertificateDer<'_>,
        _d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.schemes.clone()
    }
}

/// A client configuration that records instead of validating.
pub fn client_config(verifier: Arc<RecordingVerifier>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Arc::new(config)
}

/// A server configuration with a fresh self-signed certificate for `host` and its addresses.
pub fn self_signed_server(
    host: &str,
    addresses: &[IpAddr],
) -> Result<Arc<rustls::ServerConfig>, String> {
    let mut names: Vec<String> = vec![host.to_string()];
    names.extend(addresses.iter().map(|a| a.to_string()));
    let cert = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    let der = CertificateDer::from(cert.cert.der().to_vec());
    let key =
        PrivateKeyDer::try_from(cert.signing_key.serialize_der()).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_lists_host_and_addresses() {
        let addr: IpAddr = "192.0.2.7".parse().unwrap();
        let cert =
            rcgen::generate_simple_self_signed(vec!["fe01".into(), addr.to_string()]).unwrap();
        let info = certificate_info(cert.cert.der()).unwrap();
        assert!(info.sans.contains(&"fe01".to_string()));
        assert!(info.sans.contains(&"192.0.2.7".to_string()));
        assert!(info.days_left > 300, "{info:?}");
        assert!(info.self_signed);
        assert!(self_signed_server("fe01", &[addr]).is_ok());
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(certificate_info(b"not a certificate").is_none());
    }
}
