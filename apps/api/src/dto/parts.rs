//! Notes and the sub-resource bodies.

use poem_openapi::Object;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use customers_domain::CustomerNote;
use customers_domain::query::Page;

/// A note to write.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct NoteRequest {
    /// The text, 1..10,000 characters.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub body: String,
}

/// A note on a customer.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct NoteResponse {
    /// Id.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// Who wrote it.
    pub author_id: Uuid,
    /// The text.
    pub body: String,
    /// Written (UTC).
    pub created_at: OffsetDateTime,
    /// Last changed (UTC).
    pub updated_at: OffsetDateTime,
}

impl From<CustomerNote> for NoteResponse {
    fn from(n: CustomerNote) -> Self {
        Self {
            id: n.id.into(),
            customer_id: n.customer_id.into(),
            author_id: n.author_id.into(),
            body: n.body,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// One page of notes, newest first.
#[derive(Debug, Clone, Object)]
pub struct NotePage {
    /// The notes of this page.
    pub items: Vec<NoteResponse>,
    /// How many notes the customer has.
    pub total: u64,
    /// This page (1-based).
    pub page: u32,
    /// Page size.
    pub limit: u32,
    /// Number of pages.
    pub pages: u64,
}

impl From<Page<CustomerNote>> for NotePage {
    fn from(page: Page<CustomerNote>) -> Self {
        let pages = page.pages();
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            total: page.total,
            page: page.page,
            limit: page.limit,
            pages,
        }
    }
}
