//! A verification-only `CryptoProvider` for sigstore-verify, built on ring
//! (hashes, raw-message signatures) and RustCrypto p256/p384 (ECDSA over a
//! prehashed digest, which ring cannot do). Hand-written because the
//! crate's own backend is aws-lc, whose C build ontoref avoids.

use sigstore_verify::crypto::{CryptoProvider, Error, HashContext, Result, SigningScheme};
use sigstore_verify::types::HashAlgorithm;

/// The provider: install once with `sigstore_verify::crypto::install_default_provider`.
#[derive(Debug)]
pub struct RingProvider;
/// The one instance.
pub static RING_PROVIDER: RingProvider = RingProvider;

struct Ctx(ring::digest::Context);
impl HashContext for Ctx {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data)
    }
    fn finalize(self: Box<Self>) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

fn alg(scheme: SigningScheme) -> Result<&'static dyn ring::signature::VerificationAlgorithm> {
    use ring::signature::*;
    Ok(match scheme {
        SigningScheme::EcdsaP256Sha256 => &ECDSA_P256_SHA256_ASN1,
        SigningScheme::EcdsaP256Sha384 => &ECDSA_P256_SHA384_ASN1,
        SigningScheme::EcdsaP384Sha256 => &ECDSA_P384_SHA256_ASN1,
        SigningScheme::EcdsaP384Sha384 => &ECDSA_P384_SHA384_ASN1,
        SigningScheme::Ed25519 => &ED25519,
        SigningScheme::RsaPssSha256 => &RSA_PSS_2048_8192_SHA256,
        SigningScheme::RsaPssSha384 => &RSA_PSS_2048_8192_SHA384,
        SigningScheme::RsaPssSha512 => &RSA_PSS_2048_8192_SHA512,
        SigningScheme::RsaPkcs1Sha256 => &RSA_PKCS1_2048_8192_SHA256,
        SigningScheme::RsaPkcs1Sha384 => &RSA_PKCS1_2048_8192_SHA384,
        SigningScheme::RsaPkcs1Sha512 => &RSA_PKCS1_2048_8192_SHA512,
        other => {
            return Err(Error::UnsupportedAlgorithm(format!(
                "{other:?} not supported by ring provider"
            )));
        }
    })
}

impl CryptoProvider for RingProvider {
    fn hash(&self, algorithm: HashAlgorithm) -> Result<Box<dyn HashContext>> {
        let a = match algorithm {
            HashAlgorithm::Sha2256 => &ring::digest::SHA256,
            HashAlgorithm::Sha2384 => &ring::digest::SHA384,
            HashAlgorithm::Sha2512 => &ring::digest::SHA512,
            other => return Err(Error::UnsupportedAlgorithm(format!("{other:?}"))),
        };
        Ok(Box::new(Ctx(ring::digest::Context::new(a))))
    }
    fn verify_raw(&self, scheme: SigningScheme, key: &[u8], data: &[u8], sig: &[u8]) -> Result<()> {
        ring::signature::UnparsedPublicKey::new(alg(scheme)?, key)
            .verify(data, sig)
            .map_err(|_| Error::Verification("signature verification failed".into()))
    }
    fn verify_prehashed(
        &self,
        scheme: SigningScheme,
        key: &[u8],
        digest: &[u8],
        sig: &[u8],
    ) -> Result<()> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let bad = |_| Error::Verification("signature verification failed".into());
        match scheme {
            SigningScheme::EcdsaP256Sha256 | SigningScheme::EcdsaP256Sha384 => {
                let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                    .map_err(|e| Error::InvalidKey(e.to_string()))?;
                let s = p256::ecdsa::Signature::from_der(sig).map_err(bad)?;
                vk.verify_prehash(digest, &s).map_err(bad)
            }
            SigningScheme::EcdsaP384Sha256 | SigningScheme::EcdsaP384Sha384 => {
                let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                    .map_err(|e| Error::InvalidKey(e.to_string()))?;
                let s = p384::ecdsa::Signature::from_der(sig).map_err(bad)?;
                vk.verify_prehash(digest, &s).map_err(bad)
            }
            other => Err(Error::UnsupportedAlgorithm(format!(
                "prehashed {other:?} not supported"
            ))),
        }
    }
}
