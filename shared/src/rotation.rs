//! Re-encrypting stored secrets under the first key of `CREDENTIALS_ENCRYPTION_KEY`.
//!
//! Run after putting a new key first: once every secret is under the new key, the old one can
//! be dropped from the setting. Each secret is replaced by a conditional write that only
//! succeeds if the token is still the one read, so a connection replaced meanwhile is left
//! alone, and stopping at any point loses nothing: a second run carries on where the first
//! stopped, because secrets already under the first key are skipped.

use crate::error::ApiError;
use crate::store::{Connection, Store};
use crate::vault::Vault;

/// What a rotation run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    /// Stored secrets seen.
    pub seen: usize,
    /// Re-encrypted under the first key.
    pub rotated: usize,
    /// Already under the first key.
    pub current: usize,
    /// Replaced by their owner while the run was going; nothing to do.
    pub changed_meanwhile: usize,
    /// Not decryptable by any configured key: left as they are, and worth a look.
    pub undecryptable: usize,
}

/// Re-encrypts every stored secret not yet under the vault's first key. `limit` stops after
/// that many re-encryptions, which tests use to simulate an interrupted run.
pub async fn rotate(
    store: &Store,
    vault: &Vault,
    limit: Option<usize>,
) -> Result<RotationReport, ApiError> {
    let mut report = RotationReport::default();

    for (email, connection) in store.connections().await? {
        let Connection::AccessKey {
            secret_key_token, ..
        } = &connection
        else {
            continue;
        };
        report.seen += 1;

        if vault.is_under_primary(secret_key_token) {
            report.current += 1;
            continue;
        }
        if limit.is_some_and(|limit| report.rotated >= limit) {
            continue;
        }

        let Ok(secret) = vault.decrypt(secret_key_token) else {
            report.undecryptable += 1;
            continue;
        };
        let new_token = vault.encrypt(&secret);
        if store
            .replace_secret_token(&email, secret_key_token, &new_token)
            .await?
        {
            report.rotated += 1;
        } else {
            report.changed_meanwhile += 1;
        }
    }

    Ok(report)
}
