//! The wire format: request and response bodies of the spec (camelCase JSON), with their
//! OpenAPI schemas, converted to and from domain types at the edge.

use std::collections::BTreeMap;

use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use customers_domain::commands::{AddressDraft, ContactDraft, CustomerChangesDraft, CustomerDraft, SocialMediaDraft};
use customers_domain::{self as domain, Customer, CustomerAddress, CustomerContact};

use crate::json::Amount;

pub mod analytics;
pub mod clv;
pub mod events;
pub mod integration;
pub mod lifecycle;
pub mod metrics;
pub mod parts;
pub mod segments;

/// Declares a wire enum mirroring a domain enum, with conversions both ways.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident => $domain:path { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
        pub enum $name {
            $(#[oai(rename = $wire)] #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every wire value.
            pub const WIRE: &'static [&'static str] = &[$($wire),+];
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$domain>::$variant),+ }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => $name::$variant),+ }
            }
        }
    };
}

wire_enum!(
    /// INDIVIDUAL (a person) or COMPANY (a legal entity or sole proprietor).
    CustomerType => domain::CustomerType { Individual = "INDIVIDUAL", Company = "COMPANY" }
);
wire_enum!(
    /// Funnel stage.
    CustomerStatus => domain::CustomerStatus {
        Lead = "LEAD", Prospect = "PROSPECT", Active = "ACTIVE", Inactive = "INACTIVE", Churned = "CHURNED"
    }
);
wire_enum!(
    /// What an address is used for.
    AddressType => domain::AddressType {
        Billing = "billing", Shipping = "shipping", Office = "office", Warehouse = "warehouse"
    }
);
wire_enum!(
    /// How an interaction took place: call, email, meeting, message or other.
    NoteChannel => domain::NoteChannel {
        Call = "call", Email = "email", Meeting = "meeting", Message = "message", Other = "other"
    }
);
wire_enum!(
    /// Who started an interaction: inbound (the customer) or outbound (us).
    NoteDirection => domain::NoteDirection { Inbound = "inbound", Outbound = "outbound" }
);
wire_enum!(
    /// Head-count band.
    CompanySize => domain::CompanySize {
        Micro = "1-10", Small = "11-50", Medium = "51-200", Large = "201-500", Enterprise = "500+"
    }
);

/// Messenger and network links.
#[derive(Debug, Clone, PartialEq, Eq, Object, Deserialize)]
pub struct SocialMedia {
    /// LinkedIn profile.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub linkedin: Option<String>,
    /// Telegram handle or link.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub telegram: Option<String>,
    /// WhatsApp number or link.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub whatsapp: Option<String>,
}

/// A point on the map.
#[derive(Debug, Clone, Copy, PartialEq, Object, Deserialize)]
pub struct Coordinates {
    /// Latitude, −90..90.
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    pub latitude: f64,
    /// Longitude, −180..180.
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    pub longitude: f64,
}

/// A contact person to create (CreateContactDto).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ContactRequest {
    /// First name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub first_name: String,
    /// Last name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub last_name: String,
    /// Patronymic.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub middle_name: Option<String>,
    /// Job title.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub position: Option<String>,
    /// Department.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub department: Option<String>,
    /// E-mail.
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// Phone; Kazakhstan forms (`8 701 234 56 78`, `7012345678`) are stored as E.164.
    pub phone: String,
    /// Mobile phone.
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// The customer's main contact (at most one).
    #[serde(default)]
    pub is_primary: Option<bool>,
    /// Takes purchase decisions.
    #[serde(default)]
    pub is_decision_maker: Option<bool>,
    /// Messenger and network links.
    #[serde(default)]
    pub social_media: Option<SocialMedia>,
    /// Free text.
    #[oai(validator(max_length = 2000))]
    #[serde(default)]
    pub notes: Option<String>,
}

impl From<ContactRequest> for ContactDraft {
    fn from(c: ContactRequest) -> Self {
        ContactDraft {
            first_name: c.first_name,
            last_name: c.last_name,
            middle_name: c.middle_name,
            position: c.position,
            department: c.department,
            email: c.email,
            phone: c.phone,
            mobile_phone: c.mobile_phone,
            is_primary: c.is_primary,
            is_decision_maker: c.is_decision_maker,
            social_media: c.social_media.map(|s| SocialMediaDraft {
                linkedin: s.linkedin,
                telegram: s.telegram,
                whatsapp: s.whatsapp,
            }),
            notes: c.notes,
        }
    }
}

/// An address to create (CreateAddressDto).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct AddressRequest {
    /// What the address is used for.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub address_type: AddressType,
    /// Street and house.
    #[oai(validator(min_length = 1, max_length = 300))]
    pub street: String,
    /// Building.
    #[oai(validator(max_length = 50))]
    #[serde(default)]
    pub building: Option<String>,
    /// Apartment or office.
    #[oai(validator(max_length = 50))]
    #[serde(default)]
    pub apartment: Option<String>,
    /// City.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub city: String,
    /// Region (oblast).
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub region: Option<String>,
    /// Postal code. In Kazakhstan the legacy 6 digits (`050000`) or the Kazpost code
    /// (`A05F4K5`); elsewhere up to 20 characters.
    #[oai(validator(min_length = 1, max_length = 20))]
    pub postal_code: String,
    /// Country; `Kazakhstan` when absent.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub country: Option<String>,
    /// The main address of its type (at most one per type).
    #[serde(default)]
    pub is_primary: Option<bool>,
    /// Who to ask for.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub contact_name: Option<String>,
    /// Their phone.
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// Notes for the courier.
    #[oai(validator(max_length = 2000))]
    #[serde(default)]
    pub delivery_instructions: Option<String>,
    /// Location.
    #[serde(default)]
    pub coordinates: Option<Coordinates>,
}

impl From<AddressRequest> for AddressDraft {
    fn from(a: AddressRequest) -> Self {
        AddressDraft {
            address_type: a.address_type.into(),
            street: a.street,
            building: a.building,
            apartment: a.apartment,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            is_primary: a.is_primary,
            contact_name: a.contact_name,
            contact_phone: a.contact_phone,
            delivery_instructions: a.delivery_instructions,
            coordinates: a.coordinates.map(|c| domain::Coordinates {
                latitude: c.latitude,
                longitude: c.longitude,
            }),
        }
    }
}

/// A customer to create (CreateCustomerDto).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomerRequest {
    /// INDIVIDUAL or COMPANY.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub customer_type: CustomerType,
    /// Full name or company name.
    #[oai(validator(min_length = 2, max_length = 200))]
    pub name: String,
    /// E-mail; unique in the organization (case-insensitive).
    #[oai(validator(max_length = 254))]
    pub email: String,
    /// Phone; stored as E.164.
    #[serde(default)]
    pub phone: Option<String>,
    /// IIN: 12 digits with a valid birth date, century digit and control digit. Allowed on both
    /// types (a sole proprietor is a COMPANY with the owner's IIN). Unique in the organization.
    #[oai(validator(pattern = r"^[0-9]{12}$"))]
    #[serde(default)]
    pub iin: Option<String>,
    /// BIN: 12 digits (registration YYMM, entity type 4/5/6, attribute 0–3, control digit);
    /// COMPANY only. Unique in the organization.
    #[oai(validator(pattern = r"^[0-9]{12}$"))]
    #[serde(default)]
    pub bin: Option<String>,
    /// Registered company name.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub company_name: Option<String>,
    /// Head-count band.
    #[serde(default)]
    pub company_size: Option<CompanySize>,
    /// Industry.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub industry: Option<String>,
    /// Credit limit, ≥ 0.
    #[serde(default)]
    pub credit_limit: Option<Amount>,
    /// LEAD when absent.
    #[serde(default)]
    pub status: Option<CustomerStatus>,
    /// Where the lead came from (website, referral, cold_call, exhibition, social_media, …).
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub lead_source: Option<String>,
    /// Contact persons (at most 50, at most one primary).
    #[oai(validator(max_items = 50))]
    #[serde(default)]
    pub contacts: Option<Vec<ContactRequest>>,
    /// Addresses (at most 50, at most one primary per type).
    #[oai(validator(max_items = 50))]
    #[serde(default)]
    pub addresses: Option<Vec<AddressRequest>>,
    /// Free-form attributes: a JSON object of at most 16 KiB.
    #[serde(default)]
    pub custom_fields: Option<BTreeMap<String, serde_json::Value>>,
    /// Labels: trimmed, de-duplicated, at most 50 of at most 50 characters.
    #[oai(validator(max_items = 50))]
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// The responsible manager.
    #[serde(default)]
    pub assigned_to: Option<Uuid>,
}

fn custom_fields_value(map: BTreeMap<String, serde_json::Value>) -> serde_json::Value {
    serde_json::Value::Object(map.into_iter().collect())
}

impl From<CreateCustomerRequest> for CustomerDraft {
    fn from(r: CreateCustomerRequest) -> Self {
        CustomerDraft {
            customer_type: r.customer_type.into(),
            name: r.name,
            email: r.email,
            phone: r.phone,
            iin: r.iin,
            bin: r.bin,
            company_name: r.company_name,
            company_size: r.company_size.map(Into::into),
            industry: r.industry,
            credit_limit: r.credit_limit.map(|a| a.0),
            status: r.status.map(Into::into),
            lead_source: r.lead_source,
            contacts: r.contacts.unwrap_or_default().into_iter().map(Into::into).collect(),
            addresses: r.addresses.unwrap_or_default().into_iter().map(Into::into).collect(),
            custom_fields: r.custom_fields.map(custom_fields_value),
            tags: r.tags.unwrap_or_default(),
            assigned_to: r.assigned_to,
        }
    }
}

/// Changes to a customer (UpdateCustomerDto): absent fields stay unchanged; `null` clears an
/// optional field (and is refused for the others); `contacts` and `addresses`, when present, replace the whole sets.
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UpdateCustomerRequest {
    /// INDIVIDUAL or COMPANY.
    #[oai(rename = "type")]
    #[serde(rename = "type", default, deserialize_with = "crate::json::non_null")]
    pub customer_type: Option<CustomerType>,
    /// Full name or company name.
    #[oai(validator(min_length = 2, max_length = 200))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub name: Option<String>,
    /// E-mail.
    #[oai(validator(max_length = 254))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub email: Option<String>,
    /// Phone, or null to clear.
    #[serde(default)]
    pub phone: MaybeUndefined<String>,
    /// IIN, or null to clear.
    #[oai(validator(pattern = r"^[0-9]{12}$"))]
    #[serde(default)]
    pub iin: MaybeUndefined<String>,
    /// BIN, or null to clear.
    #[oai(validator(pattern = r"^[0-9]{12}$"))]
    #[serde(default)]
    pub bin: MaybeUndefined<String>,
    /// Company name, or null to clear.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub company_name: MaybeUndefined<String>,
    /// Head-count band, or null to clear.
    #[serde(default)]
    pub company_size: MaybeUndefined<CompanySize>,
    /// Industry, or null to clear.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub industry: MaybeUndefined<String>,
    /// Credit limit, ≥ 0.
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub credit_limit: Option<Amount>,
    /// Status.
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub status: Option<CustomerStatus>,
    /// Lead source, or null to clear.
    #[oai(validator(max_length = 100))]
    #[serde(default)]
    pub lead_source: MaybeUndefined<String>,
    /// Replaces all contacts.
    #[oai(validator(max_items = 50))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub contacts: Option<Vec<ContactRequest>>,
    /// Replaces all addresses.
    #[oai(validator(max_items = 50))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub addresses: Option<Vec<AddressRequest>>,
    /// Replaces the custom fields, or null to clear.
    #[serde(default)]
    pub custom_fields: MaybeUndefined<BTreeMap<String, serde_json::Value>>,
    /// Replaces the tags.
    #[oai(validator(max_items = 50))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub tags: Option<Vec<String>>,
    /// The responsible manager, or null to unassign.
    #[serde(default)]
    pub assigned_to: MaybeUndefined<Uuid>,
    /// Rating 1..10.
    #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub rating: Option<i64>,
    /// Whether the customer is in use.
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub is_active: Option<bool>,
    /// What the customer owes (negative: prepaid).
    #[serde(default, deserialize_with = "crate::json::non_null")]
    pub current_balance: Option<Amount>,
}

impl From<UpdateCustomerRequest> for CustomerChangesDraft {
    fn from(r: UpdateCustomerRequest) -> Self {
        fn patch<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
            value.into()
        }
        CustomerChangesDraft {
            customer_type: r.customer_type.map(Into::into),
            name: r.name,
            email: r.email,
            phone: patch(r.phone),
            iin: patch(r.iin),
            bin: patch(r.bin),
            company_name: patch(r.company_name),
            company_size: patch(r.company_size).map(|v| v.map(Into::into)),
            industry: patch(r.industry),
            credit_limit: r.credit_limit.map(|a| a.0),
            status: r.status.map(Into::into),
            lead_source: patch(r.lead_source),
            contacts: r.contacts.map(|c| c.into_iter().map(Into::into).collect()),
            addresses: r.addresses.map(|a| a.into_iter().map(Into::into).collect()),
            custom_fields: patch(r.custom_fields).map(|v| v.map(custom_fields_value)),
            tags: r.tags,
            assigned_to: patch(r.assigned_to),
            rating: r.rating,
            is_active: r.is_active,
            current_balance: r.current_balance.map(|a| a.0),
        }
    }
}

/// A contact person.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ContactResponse {
    /// Id.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Patronymic.
    #[oai(nullable)]
    pub middle_name: Option<String>,
    /// Job title.
    #[oai(nullable)]
    pub position: Option<String>,
    /// Department.
    #[oai(nullable)]
    pub department: Option<String>,
    /// E-mail (lower-case).
    pub email: String,
    /// Phone (E.164).
    pub phone: String,
    /// Mobile phone (E.164).
    #[oai(nullable)]
    pub mobile_phone: Option<String>,
    /// Main contact.
    pub is_primary: bool,
    /// Decision maker.
    pub is_decision_maker: bool,
    /// Links.
    #[oai(nullable)]
    pub social_media: Option<SocialMedia>,
    /// Free text.
    #[oai(nullable)]
    pub notes: Option<String>,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
    /// Last changed (UTC).
    pub updated_at: OffsetDateTime,
}

impl From<CustomerContact> for ContactResponse {
    fn from(c: CustomerContact) -> Self {
        Self {
            id: c.id.into(),
            customer_id: c.customer_id.into(),
            first_name: c.first_name,
            last_name: c.last_name,
            middle_name: c.middle_name,
            position: c.position,
            department: c.department,
            email: c.email.as_str().to_owned(),
            phone: c.phone.as_str().to_owned(),
            mobile_phone: c.mobile_phone.map(|p| p.as_str().to_owned()),
            is_primary: c.is_primary,
            is_decision_maker: c.is_decision_maker,
            social_media: c.social_media.map(|s| SocialMedia {
                linkedin: s.linkedin,
                telegram: s.telegram,
                whatsapp: s.whatsapp,
            }),
            notes: c.notes,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// An address.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct AddressResponse {
    /// Id.
    pub id: Uuid,
    /// The customer.
    pub customer_id: Uuid,
    /// What it is used for.
    #[oai(rename = "type")]
    pub address_type: AddressType,
    /// Street and house.
    pub street: String,
    /// Building.
    #[oai(nullable)]
    pub building: Option<String>,
    /// Apartment or office.
    #[oai(nullable)]
    pub apartment: Option<String>,
    /// City.
    pub city: String,
    /// Region.
    #[oai(nullable)]
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: String,
    /// Main address of its type.
    pub is_primary: bool,
    /// Who to ask for.
    #[oai(nullable)]
    pub contact_name: Option<String>,
    /// Their phone (E.164).
    #[oai(nullable)]
    pub contact_phone: Option<String>,
    /// Notes for the courier.
    #[oai(nullable)]
    pub delivery_instructions: Option<String>,
    /// Location.
    #[oai(nullable)]
    pub coordinates: Option<Coordinates>,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
    /// Last changed (UTC).
    pub updated_at: OffsetDateTime,
}

impl From<CustomerAddress> for AddressResponse {
    fn from(a: CustomerAddress) -> Self {
        Self {
            id: a.id.into(),
            customer_id: a.customer_id.into(),
            address_type: a.address_type.into(),
            street: a.street,
            building: a.building,
            apartment: a.apartment,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            is_primary: a.is_primary,
            contact_name: a.contact_name,
            contact_phone: a.contact_phone.map(|p| p.as_str().to_owned()),
            delivery_instructions: a.delivery_instructions,
            coordinates: a.coordinates.map(|c| Coordinates {
                latitude: c.latitude,
                longitude: c.longitude,
            }),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A customer with its contacts and addresses.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerResponse {
    /// Id (UUID v7).
    pub id: Uuid,
    /// Organization (tenant).
    pub organization_id: Uuid,
    /// Workspace.
    pub workspace_id: Uuid,
    /// INDIVIDUAL or COMPANY.
    #[oai(rename = "type")]
    pub customer_type: CustomerType,
    /// Funnel stage.
    pub status: CustomerStatus,
    /// Full name or company name.
    pub name: String,
    /// E-mail (lower-case).
    pub email: String,
    /// Phone (E.164).
    #[oai(nullable)]
    pub phone: Option<String>,
    /// IIN.
    #[oai(nullable)]
    pub iin: Option<String>,
    /// BIN.
    #[oai(nullable)]
    pub bin: Option<String>,
    /// Registered company name.
    #[oai(nullable)]
    pub company_name: Option<String>,
    /// Head-count band.
    #[oai(nullable)]
    pub company_size: Option<CompanySize>,
    /// Industry.
    #[oai(nullable)]
    pub industry: Option<String>,
    /// Credit limit.
    pub credit_limit: Amount,
    /// What the customer owes.
    pub current_balance: Amount,
    /// Free-form attributes.
    #[oai(nullable)]
    pub custom_fields: Option<BTreeMap<String, serde_json::Value>>,
    /// Labels.
    pub tags: Vec<String>,
    /// Where the lead came from.
    #[oai(nullable)]
    pub lead_source: Option<String>,
    /// First completed purchase.
    #[oai(nullable)]
    pub first_purchase_date: Option<OffsetDateTime>,
    /// Latest completed purchase.
    #[oai(nullable)]
    pub last_purchase_date: Option<OffsetDateTime>,
    /// Sum of completed purchases.
    pub total_purchases: Amount,
    /// Number of completed purchases.
    pub purchase_count: i32,
    /// Estimated lifetime value.
    pub lifetime_value: Amount,
    /// 1..10.
    pub rating: i32,
    /// The responsible manager.
    #[oai(nullable)]
    pub assigned_to: Option<Uuid>,
    /// Whether the customer is in use.
    pub is_active: bool,
    /// Contact persons.
    pub contacts: Vec<ContactResponse>,
    /// Addresses.
    pub addresses: Vec<AddressResponse>,
    /// When the lead was converted to an active customer.
    #[oai(nullable)]
    pub converted_at: Option<OffsetDateTime>,
    /// Incremented by every change; sent as the `ETag` of the customer.
    pub version: i64,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
    /// Last changed (UTC).
    pub updated_at: OffsetDateTime,
    /// Who created it.
    #[oai(nullable)]
    pub created_by: Option<Uuid>,
    /// Who changed it last.
    #[oai(nullable)]
    pub updated_by: Option<Uuid>,
}

impl From<Customer> for CustomerResponse {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.into(),
            organization_id: c.organization_id.into(),
            workspace_id: c.workspace_id.into(),
            customer_type: c.customer_type.into(),
            status: c.status.into(),
            name: c.name,
            email: c.email.as_str().to_owned(),
            phone: c.phone.map(|p| p.as_str().to_owned()),
            iin: c.iin.map(|v| v.as_str().to_owned()),
            bin: c.bin.map(|v| v.as_str().to_owned()),
            company_name: c.company_name,
            company_size: c.company_size.map(Into::into),
            industry: c.industry,
            credit_limit: c.credit_limit.into(),
            current_balance: c.current_balance.into(),
            custom_fields: c.custom_fields.map(|m| m.into_iter().collect()),
            tags: c.tags,
            lead_source: c.lead_source,
            first_purchase_date: c.first_purchase_date,
            last_purchase_date: c.last_purchase_date,
            total_purchases: c.total_purchases.into(),
            purchase_count: c.purchase_count,
            lifetime_value: c.lifetime_value.into(),
            rating: c.rating.value().into(),
            assigned_to: c.assigned_to.map(Into::into),
            is_active: c.is_active,
            contacts: c.contacts.into_iter().map(Into::into).collect(),
            addresses: c.addresses.into_iter().map(Into::into).collect(),
            converted_at: c.converted_at,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
            created_by: c.created_by.map(Into::into),
            updated_by: c.updated_by.map(Into::into),
        }
    }
}

/// One page of customers.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CustomerPage {
    /// The customers of this page.
    pub items: Vec<CustomerResponse>,
    /// How many customers match in all (null with `count=none`; the planner's estimate when
    /// `totalIsEstimate`).
    #[oai(nullable)]
    pub total: Option<u64>,
    /// Whether `total` is the planner's estimate (`count=estimated` and more than 10,000
    /// matches counted or more than 20,000 expected).
    pub total_is_estimate: bool,
    /// This page (1-based; 1 for a page reached through a cursor).
    pub page: u32,
    /// Page size.
    pub limit: u32,
    /// Number of pages (null when the total is not counted).
    #[oai(nullable)]
    pub pages: Option<u64>,
    /// Pass as `cursor` (with the same filters and sort) for the page after this one, at
    /// constant cost at any depth; null on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// How the list's total is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum CountParam {
    /// Count every match (the default).
    Exact,
    /// The database planner's estimate when it expects more than 20,000 matches; otherwise
    /// exact up to 10,000 matches and the estimate beyond.
    Estimated,
    /// Do not count (`total` and `pages` are null).
    None,
}

impl From<CountParam> for domain::query::CountMode {
    fn from(value: CountParam) -> Self {
        match value {
            CountParam::Exact => domain::query::CountMode::Exact,
            CountParam::Estimated => domain::query::CountMode::Estimated,
            CountParam::None => domain::query::CountMode::None,
        }
    }
}

/// The accepted values of an enumerated query parameter, for error messages.
pub fn allowed_values(parameter: &str) -> Option<&'static [&'static str]> {
    match parameter {
        "type" => Some(CustomerType::WIRE),
        "status" => Some(CustomerStatus::WIRE),
        "sortBy" => Some(&["createdAt", "updatedAt", "name", "totalPurchases", "rating"]),
        "sortOrder" => Some(&["ASC", "DESC"]),
        "count" => Some(&["exact", "estimated", "none"]),
        "segment" => Some(customers_domain::analytics::segment::Segment::WIRE),
        _ => None,
    }
}

/// A UUID path parameter. Parsing never fails in the router, so that the handler can name
/// the parameter in its error (the router only knows positional names).
#[derive(Debug, Clone)]
pub struct IdParam(Result<Uuid, String>);

impl IdParam {
    /// The UUID, or a validation error naming `name`.
    pub fn get(&self, name: &str) -> Result<Uuid, crate::problem::ApiError> {
        self.0
            .clone()
            .map_err(|raw| crate::problem::ApiError::field(name, format!("must be a UUID, got {raw:?}")))
    }
}

impl poem_openapi::types::Type for IdParam {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "string_uuid".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        <Uuid as poem_openapi::types::Type>::schema_ref()
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl poem_openapi::types::ParseFromParameter for IdParam {
    fn parse_from_parameter(value: &str) -> poem_openapi::types::ParseResult<Self> {
        Ok(IdParam(Uuid::parse_str(value).map_err(|_| value.to_owned())))
    }
}

/// Sort key of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SortBy {
    /// Creation time.
    #[oai(rename = "createdAt")]
    CreatedAt,
    /// Last change.
    #[oai(rename = "updatedAt")]
    UpdatedAt,
    /// Name.
    #[oai(rename = "name")]
    Name,
    /// Total purchases.
    #[oai(rename = "totalPurchases")]
    TotalPurchases,
    /// Rating.
    #[oai(rename = "rating")]
    Rating,
}

impl From<SortBy> for domain::query::SortField {
    fn from(value: SortBy) -> Self {
        use domain::query::SortField as F;
        match value {
            SortBy::CreatedAt => F::CreatedAt,
            SortBy::UpdatedAt => F::UpdatedAt,
            SortBy::Name => F::Name,
            SortBy::TotalPurchases => F::TotalPurchases,
            SortBy::Rating => F::Rating,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SortOrder {
    /// Ascending.
    #[oai(rename = "ASC")]
    Asc,
    /// Descending.
    #[oai(rename = "DESC")]
    Desc,
}

impl From<SortOrder> for domain::query::SortOrder {
    fn from(value: SortOrder) -> Self {
        match value {
            SortOrder::Asc => domain::query::SortOrder::Asc,
            SortOrder::Desc => domain::query::SortOrder::Desc,
        }
    }
}
