//! The customer aggregate: a customer with its contacts and addresses, and notes on it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{AddressId, ContactId, CustomerId, NoteId, OrganizationId, UserId, WorkspaceId};
use crate::money::Money;
use crate::values::{Bin, Email, Iin, Phone};

/// Declares a closed set of values with its wire spelling, `FromStr` and `Display`.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        value: s.to_owned(),
                        allowed: &[$($wire),+],
                    }),
                }
            }
        }
    };
}

/// A string that is not one of an enumeration's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of {}", allowed.join(", "))]
pub struct UnknownValue {
    /// What was given.
    pub value: String,
    /// What is accepted.
    pub allowed: &'static [&'static str],
}

wire_enum!(
    /// Individual (физическое лицо) or company (юридическое лицо, also a sole proprietor).
    CustomerType {
        /// A private person.
        Individual => "INDIVIDUAL",
        /// A legal entity or an individual entrepreneur.
        Company => "COMPANY",
    }
);

wire_enum!(
    /// Where a customer is in the funnel.
    CustomerStatus {
        /// A potential customer.
        Lead => "LEAD",
        /// A qualified lead.
        Prospect => "PROSPECT",
        /// A customer who buys.
        Active => "ACTIVE",
        /// A customer who stopped buying for now.
        Inactive => "INACTIVE",
        /// A lost customer.
        Churned => "CHURNED",
    }
);

wire_enum!(
    /// What an address is used for.
    AddressType {
        /// Legal (billing) address.
        Billing => "billing",
        /// Delivery address.
        Shipping => "shipping",
        /// Office.
        Office => "office",
        /// Warehouse.
        Warehouse => "warehouse",
    }
);

wire_enum!(
    /// How an interaction with the customer took place (a note's channel).
    NoteChannel {
        /// A phone call.
        Call => "call",
        /// An e-mail.
        Email => "email",
        /// A meeting in person or online.
        Meeting => "meeting",
        /// A message (messenger, SMS, chat).
        Message => "message",
        /// Anything else.
        Other => "other",
    }
);

wire_enum!(
    /// Who started an interaction (a note's direction).
    NoteDirection {
        /// The customer reached out to us.
        Inbound => "inbound",
        /// We reached out to the customer.
        Outbound => "outbound",
    }
);

wire_enum!(
    /// Head-count band of a company.
    CompanySize {
        /// 1 to 10 people.
        Micro => "1-10",
        /// 11 to 50 people.
        Small => "11-50",
        /// 51 to 200 people.
        Medium => "51-200",
        /// 201 to 500 people.
        Large => "201-500",
        /// More than 500 people.
        Enterprise => "500+",
    }
);

/// A customer's rating, 1 (worst) to 10 (best); 5 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Rating(u8);

impl Rating {
    /// The rating of a new customer.
    pub const DEFAULT: Rating = Rating(5);

    /// Accepts 1..=10.
    pub fn parse(value: i64) -> Result<Self, RatingError> {
        u8::try_from(value)
            .ok()
            .filter(|v| (1..=10).contains(v))
            .map(Rating)
            .ok_or(RatingError)
    }

    /// The rating as a number.
    pub const fn value(&self) -> u8 {
        self.0
    }
}

/// A rating outside 1..=10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between 1 and 10")]
pub struct RatingError;

impl TryFrom<i32> for Rating {
    type Error = RatingError;
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        Self::parse(value.into())
    }
}

impl From<Rating> for i32 {
    fn from(value: Rating) -> Self {
        value.0.into()
    }
}

/// Free-form attributes of a customer: a JSON object of at most [`crate::commands::MAX_CUSTOM_FIELDS_BYTES`] bytes.
pub type CustomFields = serde_json::Map<String, serde_json::Value>;

/// Links of a contact person in messengers and networks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocialMedia {
    /// LinkedIn profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkedin: Option<String>,
    /// Telegram handle or link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telegram: Option<String>,
    /// WhatsApp number or link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp: Option<String>,
}

/// A point on the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    /// −90..=90 degrees.
    pub latitude: f64,
    /// −180..=180 degrees.
    pub longitude: f64,
}

/// A contact person of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerContact {
    /// Id.
    pub id: ContactId,
    /// The customer it belongs to.
    pub customer_id: CustomerId,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Patronymic.
    pub middle_name: Option<String>,
    /// Job title.
    pub position: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// E-mail, lower-cased.
    pub email: Email,
    /// Phone, E.164.
    #[serde(deserialize_with = "crate::values::phone::deserialize_stored")]
    pub phone: Phone,
    /// Mobile phone, E.164.
    #[serde(default, deserialize_with = "crate::values::phone::deserialize_stored_opt")]
    pub mobile_phone: Option<Phone>,
    /// The customer's main contact (at most one per customer).
    pub is_primary: bool,
    /// Takes purchase decisions.
    pub is_decision_maker: bool,
    /// Messenger and network links.
    pub social_media: Option<SocialMedia>,
    /// Free text.
    pub notes: Option<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A postal address of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAddress {
    /// Id.
    pub id: AddressId,
    /// The customer it belongs to.
    pub customer_id: CustomerId,
    /// What it is used for.
    #[serde(rename = "type")]
    pub address_type: AddressType,
    /// Street and house.
    pub street: String,
    /// Building.
    pub building: Option<String>,
    /// Apartment or office number.
    pub apartment: Option<String>,
    /// City.
    pub city: String,
    /// Region (oblast).
    pub region: Option<String>,
    /// Postal code (Kazakhstan: `050000` or `A05F4K5`).
    pub postal_code: String,
    /// Country; "Kazakhstan" by default.
    pub country: String,
    /// The main address of its type (at most one per type).
    pub is_primary: bool,
    /// Who to ask for at the address.
    pub contact_name: Option<String>,
    /// Their phone, E.164.
    #[serde(default, deserialize_with = "crate::values::phone::deserialize_stored_opt")]
    pub contact_phone: Option<Phone>,
    /// Notes for the courier.
    pub delivery_instructions: Option<String>,
    /// Location.
    pub coordinates: Option<Coordinates>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A note a user left on a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerNote {
    /// Id.
    pub id: NoteId,
    /// The customer it is about.
    pub customer_id: CustomerId,
    /// Who wrote it.
    pub author_id: UserId,
    /// The text, 1..=10,000 characters.
    pub body: String,
    /// How the interaction it records took place, when it records one.
    #[serde(default)]
    pub channel: Option<NoteChannel>,
    /// Who started that interaction, when known.
    #[serde(default)]
    pub direction: Option<NoteDirection>,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A customer: the aggregate root, with its contacts and addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// The tenant.
    pub organization_id: OrganizationId,
    /// The workspace inside the tenant.
    pub workspace_id: WorkspaceId,
    /// Individual or company.
    #[serde(rename = "type")]
    pub customer_type: CustomerType,
    /// Funnel stage.
    pub status: CustomerStatus,
    /// Full name or company name, 2..=200 characters.
    pub name: String,
    /// E-mail, lower-cased; unique in the organization.
    pub email: Email,
    /// Phone, E.164.
    #[serde(default, deserialize_with = "crate::values::phone::deserialize_stored_opt")]
    pub phone: Option<Phone>,
    /// Individual identification number; unique in the organization.
    pub iin: Option<Iin>,
    /// Business identification number (companies only); unique in the organization.
    pub bin: Option<Bin>,
    /// Registered company name.
    pub company_name: Option<String>,
    /// Head-count band.
    pub company_size: Option<CompanySize>,
    /// Industry.
    pub industry: Option<String>,
    /// Credit limit, ≥ 0.
    pub credit_limit: Money,
    /// What the customer owes (may be negative: prepaid).
    pub current_balance: Money,
    /// Free-form attributes.
    pub custom_fields: Option<CustomFields>,
    /// Labels, unique, in the order given.
    pub tags: Vec<String>,
    /// Where the lead came from.
    pub lead_source: Option<String>,
    /// First completed purchase.
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_purchase_date: Option<OffsetDateTime>,
    /// Latest completed purchase.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_purchase_date: Option<OffsetDateTime>,
    /// Sum of completed purchases.
    pub total_purchases: Money,
    /// Number of completed purchases.
    pub purchase_count: i32,
    /// Estimated lifetime value.
    pub lifetime_value: Money,
    /// 1..=10.
    pub rating: Rating,
    /// The responsible manager.
    pub assigned_to: Option<UserId>,
    /// Whether the customer is in use.
    pub is_active: bool,
    /// Contact persons.
    pub contacts: Vec<CustomerContact>,
    /// Addresses.
    pub addresses: Vec<CustomerAddress>,
    /// When the lead was converted to an active customer.
    #[serde(with = "time::serde::rfc3339::option")]
    pub converted_at: Option<OffsetDateTime>,
    /// Incremented by every change; the basis of optimistic concurrency.
    pub version: i64,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// Who changed it last.
    pub updated_by: Option<UserId>,
}

impl Customer {
    /// The organization and workspace the customer lives in.
    pub fn scope(&self) -> crate::ids::Scope {
        crate::ids::Scope::new(self.organization_id, self.workspace_id)
    }

    /// The lower-cased text that substring search runs on: name, company name, e-mail and the
    /// digits of the phone, separated by newlines (so a match cannot span two fields).
    pub fn search_text(&self) -> String {
        let mut parts = vec![fold_case(&self.name)];
        if let Some(company) = &self.company_name {
            parts.push(fold_case(company));
        }
        parts.push(self.email.as_str().to_owned());
        if let Some(phone) = &self.phone {
            parts.push(phone.digits().to_owned());
        }
        parts.join("\n")
    }
}

/// Unicode case folding used wherever text is compared case-insensitively ("Альфа" = "альфа"),
/// so that both database backends compare the same stored key.
pub fn fold_case(text: &str) -> String {
    text.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_their_wire_spelling() {
        for status in CustomerStatus::ALL {
            assert_eq!(status.as_str().parse::<CustomerStatus>().unwrap(), *status);
        }
        assert_eq!("500+".parse::<CompanySize>().unwrap(), CompanySize::Enterprise);
        assert_eq!("billing".parse::<AddressType>().unwrap(), AddressType::Billing);
        let err = "BILLING".parse::<AddressType>().unwrap_err();
        assert_eq!(err.to_string(), "must be one of billing, shipping, office, warehouse");
    }

    #[test]
    fn rating_accepts_one_to_ten() {
        assert!(Rating::parse(0).is_err());
        assert_eq!(Rating::parse(1).unwrap().value(), 1);
        assert_eq!(Rating::parse(10).unwrap().value(), 10);
        assert!(Rating::parse(11).is_err());
        assert!(Rating::parse(-1).is_err());
    }

    #[test]
    fn fold_case_handles_cyrillic() {
        assert_eq!(fold_case("  ТОО Альфа "), "тоо альфа");
        assert_eq!(fold_case("ҚАЗАҚСТАН"), "қазақстан");
    }
}
