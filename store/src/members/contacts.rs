//! A member's contact points: addresses and numbers added (used only once proved), removed,
//! and the postal address.

use super::*;

impl Store {
    /// The member's email addresses, phone numbers and postal address.
    pub async fn member_contacts(&self, member_id: i64) -> Result<Vec<ContactPoint>, StoreError> {
        sqlx::query(
            "SELECT id, kind, value, verified, is_primary, source, street, postcode, city \
             FROM contact_points WHERE member_id = $1 ORDER BY kind, is_primary DESC, id",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ContactPoint {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                value: row.try_get("value")?,
                verified: get_bool(row, "verified")?,
                primary: get_bool(row, "is_primary")?,
                from_import: row.try_get::<String, _>("source")? == "import",
                street: row.try_get("street")?,
                postcode: row.try_get("postcode")?,
                city: row.try_get("city")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
    }

    /// Adds an email address, unverified, and sends the link that verifies it to that address.
    pub async fn add_email(
        &self,
        member_id: i64,
        input: &str,
        mail: &dyn PortalMail,
    ) -> Result<ContactChange, StoreError> {
        let address = match EmailAddress::parse(input) {
            Ok(a) => a,
            Err(e) => return Ok(ContactChange::Invalid(e.reason)),
        };
        let lang = self.member_language(member_id).await?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let Some(contact_id) = insert_contact(
            &mut tx,
            member_id,
            "email",
            address.as_str(),
            &address.key(),
            now,
        )
        .await?
        else {
            return Ok(ContactChange::AlreadyThere);
        };
        let key = address.key();
        let send = VerificationSend::email(member_id, &key);
        if let Some(refused) = self.admit_verification(&mut tx, &send, now).await? {
            return Ok(ContactChange::Limited(refused));
        }
        let link = LinkMail {
            purpose: "email",
            member_id: Some(member_id),
            contact_point_id: Some(contact_id),
            subscription_id: None,
            to: address.as_str(),
            kind: "portal.verify_email",
        };
        let details =
            serde_json::json!({ "kind": "email", "value_hash": self.value_hash(address.as_str()) });
        self.commit_with_link(
            tx,
            &link,
            |token| mail.verify_email(token, &lang),
            Some(("contact.added", details)),
            now,
        )
        .await?;
        Ok(ContactChange::Done)
    }

    /// Adds a phone number, unverified, and sends a 6-digit code to it by SMS.
    pub async fn add_phone(
        &self,
        member_id: i64,
        input: &str,
        default_region: &str,
        mail: &dyn PortalMail,
    ) -> Result<ContactChange, StoreError> {
        let number = match PhoneNumber::parse(input, default_region) {
            Ok(n) => n,
            Err(e) => return Ok(ContactChange::Invalid(e.reason)),
        };
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let Some(contact_id) = insert_contact(
            &mut tx,
            member_id,
            "phone",
            number.as_str(),
            number.as_str(),
            now,
        )
        .await?
        else {
            return Ok(ContactChange::AlreadyThere);
        };
        let sent = self.send_phone_code(&mut tx, member_id, contact_id, number.as_str(), mail, now);
        if let Some(refused) = sent.await? {
            return Ok(ContactChange::Limited(refused));
        }
        self.commit_audited(
            tx,
            "contact.added",
            member_id,
            serde_json::json!({ "kind": "phone", "value_hash": self.value_hash(number.as_str()) }),
            now,
        )
        .await?;
        Ok(ContactChange::Done)
    }

    /// Removes one of the member's own contact points.
    pub async fn remove_contact(
        &self,
        member_id: i64,
        contact_id: i64,
    ) -> Result<ContactChange, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let found: Option<(String, String, String)> = sqlx::query_as(
            "SELECT kind, value, source FROM contact_points WHERE id = $1 AND member_id = $2",
        )
        .bind(contact_id)
        .bind(member_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((kind, value, source)) = found else {
            return Ok(ContactChange::NotFound);
        };
        if source == "import" {
            return Ok(ContactChange::FromImport);
        }
        if kind == "email" {
            let others: i64 = sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM contact_points WHERE member_id = $1 \
                 AND kind = 'email' AND verified = $2 AND id <> $3",
            )
            .bind(member_id)
            .bind(true)
            .bind(contact_id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Ok(ContactChange::LastVerifiedEmail);
            }
        }
        // Verifications point at the contact point; they go with it.
        sqlx::query("DELETE FROM verifications WHERE contact_point_id = $1")
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM contact_points WHERE id = $1 AND member_id = $2")
            .bind(contact_id)
            .bind(member_id)
            .execute(&mut *tx)
            .await?;
        self.commit_audited(
            tx,
            "contact.removed",
            member_id,
            serde_json::json!({ "kind": kind, "value_hash": self.value_hash(&value) }),
            now,
        )
        .await?;
        self.facts_changed();
        Ok(ContactChange::Done)
    }

    /// Sets the member's own postal address (one per member; an imported one stays beside it).
    pub async fn set_postal_address(
        &self,
        member_id: i64,
        street: &str,
        postcode: &str,
        city: &str,
    ) -> Result<ContactChange, StoreError> {
        let (street, postcode, city) = (street.trim(), postcode.trim(), city.trim());
        if street.is_empty() || postcode.is_empty() || city.is_empty() {
            return Ok(ContactChange::Invalid(
                "street, postcode and city are all needed".into(),
            ));
        }
        if [street, postcode, city]
            .iter()
            .any(|s| s.len() > 200 || s.chars().any(char::is_control))
        {
            return Ok(ContactChange::Invalid(
                "a field is too long or holds control characters".into(),
            ));
        }
        let value = format!("{street}, {postcode} {city}");
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM contact_points WHERE member_id = $1 AND kind = 'postal' AND source = 'member'",
        )
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO contact_points (member_id, kind, value, value_key, street, postcode, city, \
             is_primary, verified, source, created_at, updated_at) \
             VALUES ($1, 'postal', $2, $3, $4, $5, $6, $7, $7, 'member', $8, $8) \
             ON CONFLICT (member_id, kind, value_key) DO NOTHING",
        )
        .bind(member_id)
        .bind(&value)
        .bind(value.to_lowercase())
        .bind(street)
        .bind(postcode)
        .bind(city)
        .bind(true)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.commit_audited(
            tx,
            "contact.postal_set",
            member_id,
            serde_json::json!({ "kind": "postal", "value_hash": self.value_hash(&value) }),
            now,
        )
        .await?;
        self.facts_changed();
        Ok(ContactChange::Done)
    }
}

/// Inserts a member's own contact point; `None` when the member has it already.
async fn insert_contact(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    member_id: i64,
    kind: &str,
    value: &str,
    key: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO contact_points (member_id, kind, value, value_key, is_primary, verified, source, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, 'member', $6, $6) \
         ON CONFLICT (member_id, kind, value_key) DO NOTHING RETURNING id",
    )
    .bind(member_id)
    .bind(kind)
    .bind(value)
    .bind(key)
    .bind(false)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?)
}
