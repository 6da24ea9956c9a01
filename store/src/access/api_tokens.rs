//! Personal API tokens: what a script, a newsroom tool or the membership database presents to
//! `/api/v1` instead of a session.
//!
//! A token is `vt_<id>_<secret>`. The id finds one row; the secret is 256 random bits, so its
//! SHA-256 is all that is stored (a slow password hash adds nothing to a secret nobody chose).
//! A token acts as its owner and never for more than the owner may do: its scopes only narrow
//! the owner's rights, creating one refuses a scope the owner's roles do not cover, and every
//! operation behind the API asks the owner's current roles again.

use crate::{now_ms, AuditEvent, Store, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ApiScope {
    /// Submit messages (`POST /submissions`), optionally only to named lists.
    #[serde(rename = "send")]
    Send,
    /// Read the owner's submissions and sends, and cancel them.
    #[serde(rename = "sends:read")]
    SendsRead,
    /// Decide held sends the owner is asked to approve.
    #[serde(rename = "approve")]
    Approve,
    /// Push the membership database's units and members, read members' own changes.
    #[serde(rename = "directory:sync")]
    DirectorySync,
    /// Everything an admin may do over the API.
    #[serde(rename = "admin")]
    Admin,
}

impl ApiScope {
    pub const ALL: [ApiScope; 5] = [
        ApiScope::Send,
        ApiScope::SendsRead,
        ApiScope::Approve,
        ApiScope::DirectorySync,
        ApiScope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Send => "send",
            ApiScope::SendsRead => "sends:read",
            ApiScope::Approve => "approve",
            ApiScope::DirectorySync => "directory:sync",
            ApiScope::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<ApiScope> {
        ApiScope::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Scopes only an organisation admin's token may carry.
    pub fn needs_admin(self) -> bool {
        matches!(self, ApiScope::DirectorySync | ApiScope::Admin)
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token's scopes, and the lists its `send` scope is limited to (`None`: every list the
/// owner may send to).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ApiScopes {
    scopes: Vec<ApiScope>,
    send_lists: Option<Vec<String>>,
}

/// Why a scope text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error(
        "unknown scope `{0}` (known: send, send:LIST, sends:read, approve, directory:sync, admin)"
    )]
    Unknown(String),
    #[error("no scope given")]
    Empty,
}

impl ApiScopes {
    /// Reads scopes as typed on the command line or a form: names separated by commas or
    /// spaces; `send:<slug>` grants `send` for that list only (several may be given).
    pub fn parse(text: &str) -> Result<ApiScopes, ScopeError> {
        let mut scopes = Vec::new();
        let mut lists: Vec<String> = Vec::new();
        let mut unlimited_send = false;
        for word in text
            .split([',', ' '])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            if let Some(scope) = ApiScope::parse(word) {
                unlimited_send |= scope == ApiScope::Send;
                scopes.push(scope);
            } else if let Some(slug) = word.strip_prefix("send:").filter(|s| valid_slug(s)) {
                scopes.push(ApiScope::Send);
                lists.push(slug.to_ascii_lowercase());
            } else {
                return Err(ScopeError::Unknown(word.to_string()));
            }
        }
        if scopes.is_empty() {
            return Err(ScopeError::Empty);
        }
        scopes.sort_unstable();
        scopes.dedup();
        lists.sort_unstable();
        lists.dedup();
        let send_lists = (!unlimited_send && !lists.is_empty()).then_some(lists);
        Ok(ApiScopes { scopes, send_lists })
    }

    pub fn new(scopes: &[ApiScope], send_lists: Option<Vec<String>>) -> ApiScopes {
        let mut scopes = scopes.to_vec();
        scopes.sort_unstable();
        scopes.dedup();
        ApiScopes { scopes, send_lists }
    }

    pub fn has(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn scopes(&self) -> &[ApiScope] {
        &self.scopes
    }

    pub fn send_lists(&self) -> Option<&[String]> {
        self.send_lists.as_deref()
    }

    /// Whether the `send` scope covers the list with this slug.
    pub fn may_send_to(&self, slug: &str) -> bool {
        self.has(ApiScope::Send)
            && self
                .send_lists
                .as_ref()
                .is_none_or(|lists| lists.iter().any(|l| l.eq_ignore_ascii_case(slug)))
    }

    fn stored(&self) -> (String, Option<String>) {
        let scopes = self.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>();
        (
            scopes.join(" "),
            self.send_lists.as_ref().map(|l| l.join(",")),
        )
    }

    /// From the stored columns; an unknown stored name is dropped (fails closed: less, not
    /// more).
    fn from_stored(scopes: &str, send_lists: Option<&str>) -> ApiScopes {
        let scopes: Vec<ApiScope> = scopes.split(' ').filter_map(ApiScope::parse).collect();
        let send_lists = send_lists.map(|l| l.split(',').map(str::to_string).collect());
        ApiScopes::new(&scopes, send_lists)
    }
}

impl fmt::Display for ApiScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self
            .scopes
            .iter()
            .flat_map(|s| match (s, &self.send_lists) {
                (ApiScope::Send, Some(lists)) => {
                    lists.iter().map(|l| format!("send:{l}")).collect()
                }
                _ => vec![s.as_str().to_string()],
            })
            .collect();
        f.write_str(&words.join(" "))
    }
}

fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// One token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub member_id: i64,
    pub name: String,
    pub scopes: ApiScopes,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl ApiToken {
    /// The actor the audit log names for calls made with this token.
    pub fn actor(&self) -> String {
        format!("api:token:{} {}", self.id, self.name)
    }

    pub fn usable_at(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub member_id: i64,
    pub name: String,
    pub scopes: ApiScopes,
    pub expires_at: Option<i64>,
}

/// Why a token was not created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    #[error("a token needs a name")]
    NameMissing,
    #[error("the name is longer than 100 characters")]
    NameTooLong,
    #[error("the expiry lies in the past")]
    ExpiryPassed,
    #[error("the scope {0} needs an organisation admin")]
    BeyondRoles(ApiScope),
    #[error("no active member has this id")]
    NoSuchMember,
}

/// Tokens are `vt_<id>_<secret>`.
const PREFIX: &str = "vt_";

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The id and secret of a presented token, if it has the token's form.
fn token_parts(presented: &str) -> Option<(i64, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
    (secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit())).then_some((id, secret))
}

/// Last use is written at most this often per token: a busy script does not turn every read
/// into a write.
const LAST_USE_GRANULARITY_MS: i64 = 60_000;

type TokenRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// A [`TokenRow`], then the secret's hash and the owner's status.
type AuthRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    String,
);

const TOKEN_COLUMNS: &str = "id, member_id, name, scopes, send_lists, created_at, expires_at, \
                             revoked_at, last_used_at";

fn token_of(row: TokenRow) -> ApiToken {
    let (id, member_id, name, scopes, send_lists, created_at, expires_at, revoked_at, last_used) =
        row;
    ApiToken {
        id,
        member_id,
        name,
        scopes: ApiScopes::from_stored(&scopes, send_lists.as_deref()),
        created_at,
        expires_at,
        revoked_at,
        last_used_at: last_used,
    }
}

impl Store {
    /// Creates a token and returns it with the one and only copy of its text (`vt_<id>_…`),
    /// for the caller to show once. Refuses a scope beyond the owner's roles.
    pub async fn create_api_token(
        &self,
        new: &NewApiToken,
    ) -> Result<Result<(ApiToken, String), TokenRefusal>, StoreError> {
        let name = new.name.trim();
        let now = now_ms();
        if name.is_empty() {
            return Ok(Err(TokenRefusal::NameMissing));
        }
        if name.chars().count() > 100 {
            return Ok(Err(TokenRefusal::NameTooLong));
        }
        if new.expires_at.is_some_and(|at| at <= now) {
            return Ok(Err(TokenRefusal::ExpiryPassed));
        }
        if self.member_status(new.member_id).await?.as_deref() != Some("active") {
            return Ok(Err(TokenRefusal::NoSuchMember));
        }
        if let Some(scope) = new.scopes.scopes().iter().find(|s| s.needs_admin()) {
            if !self.is_admin(new.member_id).await? {
                return Ok(Err(TokenRefusal::BeyondRoles(*scope)));
            }
        }
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let (scopes, send_lists) = new.scopes.stored();
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (member_id, name, scopes, send_lists, secret_sha256, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.member_id)
        .bind(name)
        .bind(&scopes)
        .bind(&send_lists)
        .bind(secret_hash(&secret))
        .bind(now)
        .bind(new.expires_at)
        .fetch_one(&mut *tx)
        .await?;
        crate::audit::log::append(
            &mut tx,
            self.backend,
            &[AuditEvent::new("api_token.created", self.actor.to_string())
                .by_member(new.member_id)
                .details(serde_json::json!({
                    "token_id": id, "name": name, "scopes": new.scopes.to_string(),
                    "expires_at": new.expires_at,
                }))],
            now,
        )
        .await?;
        tx.commit().await?;
        let token = ApiToken {
            id,
            member_id: new.member_id,
            name: name.to_string(),
            scopes: new.scopes.clone(),
            created_at: now,
            expires_at: new.expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        Ok(Ok((token, format!("{PREFIX}{id}_{secret}"))))
    }

    /// The member's tokens, newest first (revoked ones too: the owner sees what was).
    pub async fn api_tokens_of(&self, member_id: i64) -> Result<Vec<ApiToken>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE member_id = $1 ORDER BY id DESC"
        ))
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(token_of).collect())
    }

    /// Every token of the organisation, newest first (`verteiler token list`).
    pub async fn all_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(token_of).collect())
    }

    /// Revokes a token; with `owner`, only if it is theirs. Whether a usable token was revoked.
    pub async fn revoke_api_token(&self, id: i64, owner: Option<i64>) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // Without an owner, the owner's own id: the same statement either way.
        let owner_sql = if owner.is_some() {
            "member_id = $3"
        } else {
            "$3 = $3"
        };
        let revoked = sqlx::query(&format!(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
             AND {owner_sql}"
        ))
        .bind(now_ms())
        .bind(id)
        .bind(owner.unwrap_or(0))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if revoked {
            crate::audit::log::append(
                &mut tx,
                self.backend,
                &[AuditEvent::new("api_token.revoked", self.actor.to_string())
                    .details(serde_json::json!({ "token_id": id }))],
                now_ms(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    /// The token a request presents, if it is one, unrevoked, unexpired, and its owner is
    /// still an active member. Notes the use (at most once a minute).
    pub async fn authenticate_api_token(
        &self,
        presented: &str,
    ) -> Result<Option<ApiToken>, StoreError> {
        let Some((id, secret)) = token_parts(presented.trim()) else {
            return Ok(None);
        };
        // One read per request: the token, its hash and its owner's standing together.
        let found: Option<AuthRow> = sqlx::query_as(
            "SELECT t.id, t.member_id, t.name, t.scopes, t.send_lists, t.created_at, \
             t.expires_at, t.revoked_at, t.last_used_at, t.secret_sha256, m.status \
             FROM api_tokens t JOIN members m ON m.id = t.member_id WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((a, b, c, d, e, f, g, h, i, stored_hash, status)) = found else {
            return Ok(None);
        };
        let row: TokenRow = (a, b, c, d, e, f, g, h, i);
        let token = token_of(row);
        let now = now_ms();
        // Both sides are hex digests of equal length; comparing digests leaks nothing usable
        // about the secret.
        if stored_hash != secret_hash(secret) || status != "active" || !token.usable_at(now) {
            return Ok(None);
        }
        if token
            .last_used_at
            .is_none_or(|at| now - at >= LAST_USE_GRANULARITY_MS)
        {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token.id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(token))
    }

    async fn member_status(&self, member_id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT status FROM members WHERE id = $1")
                .bind(member_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_names_and_list_limited_send() {
        let s = ApiScopes::parse("sends:read, send:ov-oldenfelde send:kv-x").unwrap();
        assert!(s.has(ApiScope::Send) && s.has(ApiScope::SendsRead));
        assert!(s.may_send_to("ov-oldenfelde") && s.may_send_to("KV-X"));
        assert!(!s.may_send_to("lv-mitglieder"));
        assert_eq!(s.to_string(), "send:kv-x send:ov-oldenfelde sends:read");
        let all = ApiScopes::parse("send send:kv-x").unwrap();
        assert!(all.may_send_to("anything"), "plain send is not narrowed");
        assert_eq!(
            ApiScopes::parse("send, root"),
            Err(ScopeError::Unknown("root".into()))
        );
        assert_eq!(ApiScopes::parse(" , "), Err(ScopeError::Empty));
        assert!(!ApiScopes::parse("approve").unwrap().may_send_to("x"));
    }

    #[test]
    fn stored_scopes_come_back_as_they_were() {
        let s = ApiScopes::parse("admin send:a send:b").unwrap();
        let (scopes, lists) = s.stored();
        assert_eq!(ApiScopes::from_stored(&scopes, lists.as_deref()), s);
        let unknown = ApiScopes::from_stored("send bogus", None);
        assert_eq!(unknown.scopes(), &[ApiScope::Send]);
    }

    #[test]
    fn only_the_tokens_form_is_taken_apart() {
        let secret = "a".repeat(64);
        assert_eq!(
            token_parts(&format!("vt_12_{secret}")),
            Some((12, secret.as_str()))
        );
        for other in [
            format!("vt_0_{secret}"),
            format!("vt__{secret}"),
            format!("12_{secret}"),
            "vt_12_abc".to_string(),
            format!("vt_12_{}", "g".repeat(64)),
        ] {
            assert_eq!(token_parts(&other), None, "{other}");
        }
    }
}
