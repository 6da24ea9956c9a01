//! The signer delivery uses now. `serve` replaces it whole on SIGHUP (a rotated key file);
//! a copy being signed keeps the signer it started with, so each copy carries the signatures
//! of one set of keys, never a mix.

use super::DkimSigner;
use arc_swap::ArcSwapOption;
use std::sync::Arc;

/// A shared, swappable [`DkimSigner`]; empty when copies go out unsigned. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct CurrentSigner(Arc<ArcSwapOption<DkimSigner>>);

impl CurrentSigner {
    pub fn new(signer: Option<Arc<DkimSigner>>) -> CurrentSigner {
        CurrentSigner(Arc::new(ArcSwapOption::new(signer)))
    }

    /// The signer for the next copy, if any.
    pub fn current(&self) -> Option<Arc<DkimSigner>> {
        self.0.load_full()
    }

    /// Signs the following copies with `signer`.
    pub fn replace(&self, signer: Arc<DkimSigner>) {
        self.0.store(Some(signer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_see_a_replacement() {
        let current = CurrentSigner::new(Some(Arc::new(
            DkimSigner::new("lists.example.org").unwrap(),
        )));
        let delivery = current.clone();
        current.replace(Arc::new(DkimSigner::new("example.org").unwrap()));
        assert_eq!(delivery.current().unwrap().domain(), "example.org");
        assert!(CurrentSigner::default().current().is_none());
    }
}
