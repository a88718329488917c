//! Notes and the sub-resource bodies.

use poem_openapi::Object;
use poem_openapi::types::MaybeUndefined;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use customers_domain::CustomerNote;
use customers_domain::commands::{AddressDraft, ContactDraft, NoteDraft, SocialMediaDraft};

use super::{AddressType, Coordinates, NoteChannel, NoteDirection, SocialMedia};
use customers_domain::query::Page;

/// A note to write.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct NoteRequest {
    /// The text, 1..10,000 characters.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub body: String,
    /// The channel of the interaction the note records (call, email, meeting, message,
    /// other). On an update, leaving it out keeps the stored one.
    pub channel: Option<NoteChannel>,
    /// Who started that interaction: `inbound` (the customer) or `outbound` (us). Inbound
    /// interactions answered by an outbound one within 48 hours make the response rate of
    /// the customer's analytics. On an update, leaving it out keeps the stored one.
    pub direction: Option<NoteDirection>,
}

impl NoteRequest {
    /// The domain draft.
    pub fn into_draft(self) -> NoteDraft {
        NoteDraft {
            body: self.body,
            channel: self.channel.map(Into::into),
            direction: self.direction.map(Into::into),
        }
    }
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
    /// The channel of the interaction it records, if any.
    pub channel: Option<NoteChannel>,
    /// Who started that interaction, if known.
    pub direction: Option<NoteDirection>,
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
            channel: n.channel.map(Into::into),
            direction: n.direction.map(Into::into),
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

/// Changes to a contact (UpdateContactDto): absent fields stay unchanged; `null` clears an
/// optional field.
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ContactPatch {
    /// First name.
    #[oai(validator(min_length = 1, max_length = 100))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub first_name: Option<String>,
    /// Last name.
    #[oai(validator(min_length = 1, max_length = 100))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub last_name: Option<String>,
    /// Patronymic, or null to clear.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub middle_name: MaybeUndefined<String>,
    /// Job title, or null to clear.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub position: MaybeUndefined<String>,
    /// Department, or null to clear.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub department: MaybeUndefined<String>,
    /// E-mail.
    #[oai(validator(max_length = 254))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub phone: Option<String>,
    /// Mobile phone, or null to clear.
    #[serde(default)]
    pub mobile_phone: MaybeUndefined<String>,
    /// Main contact (marking it un-marks the previous one).
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub is_primary: Option<bool>,
    /// Decision maker.
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub is_decision_maker: Option<bool>,
    /// Links (replaced whole), or null to clear.
    #[serde(default)]
    pub social_media: MaybeUndefined<SocialMedia>,
    /// Free text, or null to clear.
    #[oai(validator(max_length = 2000))]
    #[serde(default)]
    pub notes: MaybeUndefined<String>,
}

/// Overwrites `target` where `patch` says so (`None`: keep; `Some(None)`: clear).
fn overlay<T>(target: &mut Option<T>, patch: MaybeUndefined<T>) {
    if let Some(value) = Option::<Option<T>>::from(patch) {
        *target = value;
    }
}

impl ContactPatch {
    /// The stored contact with the changes applied, to be validated as a whole.
    pub fn apply(self, mut draft: ContactDraft) -> ContactDraft {
        if let Some(v) = self.first_name {
            draft.first_name = v;
        }
        if let Some(v) = self.last_name {
            draft.last_name = v;
        }
        overlay(&mut draft.middle_name, self.middle_name);
        overlay(&mut draft.position, self.position);
        overlay(&mut draft.department, self.department);
        if let Some(v) = self.email {
            draft.email = v;
        }
        if let Some(v) = self.phone {
            draft.phone = v;
        }
        overlay(&mut draft.mobile_phone, self.mobile_phone);
        if self.is_primary.is_some() {
            draft.is_primary = self.is_primary;
        }
        if self.is_decision_maker.is_some() {
            draft.is_decision_maker = self.is_decision_maker;
        }
        overlay(
            &mut draft.social_media,
            self.social_media.map_value(|s| SocialMediaDraft {
                linkedin: s.linkedin,
                telegram: s.telegram,
                whatsapp: s.whatsapp,
            }),
        );
        overlay(&mut draft.notes, self.notes);
        draft
    }
}

/// Changes to an address (UpdateAddressDto): absent fields stay unchanged; `null` clears an
/// optional field.
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct AddressPatch {
    /// What the address is used for.
    #[oai(rename = "type")]
    #[serde(rename = "type", default, deserialize_with = "crate::json::non_null")]
    pub address_type: Option<AddressType>,
    /// Street and house.
    #[oai(validator(min_length = 1, max_length = 300))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub street: Option<String>,
    /// Building, or null to clear.
    #[oai(validator(max_length = 50))]
    #[serde(default)]
    pub building: MaybeUndefined<String>,
    /// Apartment or office, or null to clear.
    #[oai(validator(max_length = 50))]
    #[serde(default)]
    pub apartment: MaybeUndefined<String>,
    /// City.
    #[oai(validator(min_length = 1, max_length = 100))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub city: Option<String>,
    /// Region, or null to clear.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub region: MaybeUndefined<String>,
    /// Postal code.
    #[oai(validator(min_length = 1, max_length = 20))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub postal_code: Option<String>,
    /// Country.
    #[oai(validator(max_length = 100))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub country: Option<String>,
    /// Main address of its type (marking it un-marks the previous one).
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub is_primary: Option<bool>,
    /// Who to ask for, or null to clear.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub contact_name: MaybeUndefined<String>,
    /// Their phone, or null to clear.
    #[serde(default)]
    pub contact_phone: MaybeUndefined<String>,
    /// Notes for the courier, or null to clear.
    #[oai(validator(max_length = 2000))]
    #[serde(default)]
    pub delivery_instructions: MaybeUndefined<String>,
    /// Location, or null to clear.
    #[serde(default)]
    pub coordinates: MaybeUndefined<Coordinates>,
}

impl AddressPatch {
    /// The stored address with the changes applied, to be validated as a whole.
    pub fn apply(self, mut draft: AddressDraft) -> AddressDraft {
        if let Some(v) = self.address_type {
            draft.address_type = v.into();
        }
        if let Some(v) = self.street {
            draft.street = v;
        }
        overlay(&mut draft.building, self.building);
        overlay(&mut draft.apartment, self.apartment);
        if let Some(v) = self.city {
            draft.city = v;
        }
        overlay(&mut draft.region, self.region);
        if let Some(v) = self.postal_code {
            draft.postal_code = v;
        }
        if self.country.is_some() {
            draft.country = self.country;
        }
        if self.is_primary.is_some() {
            draft.is_primary = self.is_primary;
        }
        overlay(&mut draft.contact_name, self.contact_name);
        overlay(&mut draft.contact_phone, self.contact_phone);
        overlay(&mut draft.delivery_instructions, self.delivery_instructions);
        overlay(
            &mut draft.coordinates,
            self.coordinates.map_value(|c| customers_domain::Coordinates {
                latitude: c.latitude,
                longitude: c.longitude,
            }),
        );
        draft
    }
}

/// One line of a customer's audit trail.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct HistoryEntryResponse {
    /// The event it comes from.
    pub event_id: Uuid,
    /// The event type (`customer.updated`, `customer.status.changed`, …).
    #[oai(rename = "type")]
    pub event_type: String,
    /// When (UTC).
    pub occurred_at: OffsetDateTime,
    /// Who.
    pub actor: Uuid,
    /// The field that changed; null for whole-customer events (created, deleted, restored,
    /// merged).
    #[oai(nullable)]
    pub field: Option<String>,
    /// Its value before.
    pub old_value: serde_json::Value,
    /// Its value after.
    pub new_value: serde_json::Value,
    /// The route of the change: `api`, `import` (a batch import), `merge` or `event` (another
    /// module's event: an order, a won deal, an invoice or a payment).
    pub source: String,
}

impl From<customers_domain::history::HistoryEntry> for HistoryEntryResponse {
    fn from(e: customers_domain::history::HistoryEntry) -> Self {
        Self {
            event_id: e.event_id,
            event_type: e.event_type.to_owned(),
            occurred_at: e.occurred_at,
            actor: e.actor.into(),
            field: e.field,
            old_value: e.old_value,
            new_value: e.new_value,
            source: e.source.as_str().to_owned(),
        }
    }
}

/// One page of the audit trail, newest first.
#[derive(Debug, Clone, Object)]
pub struct HistoryPage {
    /// The entries of this page.
    pub items: Vec<HistoryEntryResponse>,
    /// How many entries match.
    pub total: u64,
    /// This page (1-based).
    pub page: u32,
    /// Page size.
    pub limit: u32,
    /// Number of pages.
    pub pages: u64,
}

impl From<Page<customers_domain::history::HistoryEntry>> for HistoryPage {
    fn from(page: Page<customers_domain::history::HistoryEntry>) -> Self {
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
