//! The member's account: app passwords made in the portal, and asking for deletion (an admin
//! completes it, see `erasure.rs`); the SMS outbox as the portal's tests read it.

use super::*;

impl Store {
    /// Creates an app password for the member's email client; returns (id, the password),
    /// which is shown once and never stored in clear.
    pub async fn create_app_password(
        &self,
        member_id: i64,
        name: &str,
    ) -> Result<(i64, String), StoreError> {
        let (id, password) = self.new_app_password(member_id, name).await?;
        self.audit(&[
            AuditEvent::new("credential.created", self.actor.to_string())
                .by_member(member_id)
                .details(serde_json::json!({ "credential_id": id, "name": name })),
        ])
        .await?;
        Ok((id, password))
    }

    /// Records that the member asks for their data to be deleted; an admin completes it.
    /// `false`: a request is open already.
    pub async fn request_deletion(&self, member_id: i64) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM deletion_requests WHERE member_id = $1 \
             AND completed_at IS NULL",
        )
        .bind(member_id)
        .fetch_one(&mut *tx)
        .await?;
        if open > 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO deletion_requests (member_id, requested_at) VALUES ($1, $2)")
            .bind(member_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        self.commit_audited(
            tx,
            "member.deletion_requested",
            member_id,
            serde_json::json!({}),
            now,
        )
        .await?;
        Ok(true)
    }

    /// Open deletion requests, oldest first: (member id, name, requested at).
    pub async fn open_deletion_requests(&self) -> Result<Vec<(i64, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT d.member_id, m.first_name || ' ' || m.last_name, d.requested_at \
             FROM deletion_requests d JOIN members m ON m.id = d.member_id \
             WHERE d.completed_at IS NULL ORDER BY d.requested_at",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// When the member's open deletion request was made, if one is open.
    pub async fn open_deletion_request(&self, member_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT requested_at FROM deletion_requests WHERE member_id = $1 AND completed_at IS NULL",
        )
        .bind(member_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Text messages waiting in the SMS outbox for a number, oldest first: (kind, body).
    pub async fn sms_outbox_for(&self, number: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT kind, body FROM sms_outbox WHERE to_number = $1 ORDER BY id")
                .bind(number)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
