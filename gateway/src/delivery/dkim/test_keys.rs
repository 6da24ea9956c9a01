//! Keys and signers shared by the DKIM tests.

use super::{generate_key, DkimAlgorithm, DkimSigner, GeneratedKey};
use std::path::Path;
use std::sync::OnceLock;

pub(super) const DOMAIN: &str = "lists.example.org";

/// One RSA-2048 key for all tests: generating one takes a while in a debug build.
pub(super) fn rsa_key() -> &'static GeneratedKey {
    static KEY: OnceLock<GeneratedKey> = OnceLock::new();
    KEY.get_or_init(|| generate_key(DkimAlgorithm::Rsa, "rsa1", DOMAIN).unwrap())
}

pub(super) fn ed25519_key() -> GeneratedKey {
    generate_key(DkimAlgorithm::Ed25519, "ed1", DOMAIN).unwrap()
}

pub(super) fn signer(keys: &[(DkimAlgorithm, &str, &GeneratedKey)]) -> DkimSigner {
    let mut signer = DkimSigner::new(DOMAIN).unwrap();
    for (algorithm, selector, key) in keys {
        signer
            .add_key(
                *algorithm,
                selector,
                key.pem.as_bytes(),
                Path::new("test.pem"),
            )
            .unwrap();
    }
    signer
}
