//! Commands: raw input as a client sends it (`*Draft`, validated with garde), parsed into
//! commands whose fields are validated value types (`NewCustomer`, `CustomerChanges`).
//!
//! Strings are trimmed first; an optional string that is blank counts as absent (on create)
//! or as "clear the field" (on update).

use std::collections::HashSet;

use garde::Validate;
use rust_decimal::Decimal;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ValidationErrors;
use crate::ids::{AddressId, ContactId, CustomerId, Scope, UserId};
use crate::model::{
    AddressType, CompanySize, Coordinates, CustomFields, Customer, CustomerAddress, CustomerContact, CustomerStatus,
    CustomerType, NoteChannel, NoteDirection, Rating, SocialMedia, fold_case,
};
use crate::money::Money;
use crate::values::{
    Bin, Email, Iin, KzPostalCode, Phone, garde_bin, garde_email, garde_iin, garde_kz_postal_code, garde_phone,
};

/// At most this many contacts, and as many addresses, per customer.
pub const MAX_CONTACTS: usize = 50;
/// See [`MAX_CONTACTS`].
pub const MAX_ADDRESSES: usize = 50;
/// At most this many tags per customer.
pub const MAX_TAGS: usize = 50;
/// At most this many characters per tag.
pub const MAX_TAG_CHARS: usize = 50;
/// The largest `customFields` object, serialized as compact JSON.
pub const MAX_CUSTOM_FIELDS_BYTES: usize = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Normalization helpers
// ---------------------------------------------------------------------------------------------

fn trim(value: String) -> String {
    let trimmed = value.trim();
    if trimmed.len() == value.len() {
        value
    } else {
        trimmed.to_owned()
    }
}

/// Trims; a blank string becomes `None`.
fn trim_opt(value: Option<String>) -> Option<String> {
    value.map(trim).filter(|v| !v.is_empty())
}

/// For updates: absent stays absent, blank or null means "clear".
fn trim_patch(value: Option<Option<String>>) -> Option<Option<String>> {
    value.map(trim_opt)
}

/// Whether a country name means Kazakhstan (so its postal code rules apply).
pub fn is_kazakhstan(country: &str) -> bool {
    matches!(
        fold_case(country).as_str(),
        "kazakhstan" | "kz" | "kaz" | "казахстан" | "қазақстан" | "republic of kazakhstan" | "республика казахстан"
    )
}

// ---------------------------------------------------------------------------------------------
// garde rules shared by drafts
// ---------------------------------------------------------------------------------------------

fn non_negative_money(value: &Option<Decimal>, _: &()) -> garde::Result {
    match value {
        Some(amount) => Money::parse_non_negative(*amount)
            .map(|_| ())
            .map_err(|e| garde::Error::new(e.to_string())),
        None => Ok(()),
    }
}

fn any_money(value: &Option<Decimal>, _: &()) -> garde::Result {
    match value {
        Some(amount) => Money::parse(*amount)
            .map(|_| ())
            .map_err(|e| garde::Error::new(e.to_string())),
        None => Ok(()),
    }
}

fn rating_rule(value: &Option<i64>, _: &()) -> garde::Result {
    match value {
        Some(v) => Rating::parse(*v)
            .map(|_| ())
            .map_err(|e| garde::Error::new(e.to_string())),
        None => Ok(()),
    }
}

fn custom_fields_rule(value: &serde_json::Value, _: &()) -> garde::Result {
    if !value.is_object() {
        return Err(garde::Error::new("must be a JSON object"));
    }
    let size = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_CUSTOM_FIELDS_BYTES {
        return Err(garde::Error::new(format!(
            "must be at most {MAX_CUSTOM_FIELDS_BYTES} bytes as JSON, got {size}"
        )));
    }
    Ok(())
}

fn tag_rule(value: &str, _: &()) -> garde::Result {
    let chars = value.trim().chars().count();
    if chars == 0 {
        return Err(garde::Error::new("must not be blank"));
    }
    if chars > MAX_TAG_CHARS {
        return Err(garde::Error::new(format!(
            "must be at most {MAX_TAG_CHARS} characters, got {chars}"
        )));
    }
    if value.contains(',') {
        return Err(garde::Error::new(
            "must not contain a comma (commas separate tags in list filters)",
        ));
    }
    Ok(())
}

fn tags_rule(value: &[String], _: &()) -> garde::Result {
    let distinct = normalize_tags(value.to_vec()).len();
    if distinct > MAX_TAGS {
        return Err(garde::Error::new(format!(
            "must hold at most {MAX_TAGS} distinct tags, got {distinct}"
        )));
    }
    Ok(())
}

/// Trimmed, blank ones dropped, duplicates (compared case-insensitively) removed, first kept.
fn normalize_tags(tags: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    tags.into_iter()
        .map(trim)
        .filter(|t| !t.is_empty() && seen.insert(fold_case(t)))
        .collect()
}

fn bin_needs_company(customer_type: Option<CustomerType>) -> impl FnOnce(&Option<String>, &()) -> garde::Result {
    move |bin, _| match (bin, customer_type) {
        (Some(_), Some(CustomerType::Individual)) => Err(garde::Error::new(
            "is only allowed for COMPANY customers (an individual has an IIN)",
        )),
        _ => Ok(()),
    }
}

fn one_primary_contact(contacts: &[ContactDraft], _: &()) -> garde::Result {
    if contacts.iter().filter(|c| c.is_primary == Some(true)).count() > 1 {
        return Err(garde::Error::new("at most one contact may be primary"));
    }
    Ok(())
}

fn one_primary_per_type(addresses: &[AddressDraft], _: &()) -> garde::Result {
    let mut seen = HashSet::new();
    for address in addresses.iter().filter(|a| a.is_primary == Some(true)) {
        if !seen.insert(address.address_type) {
            return Err(garde::Error::new(format!(
                "at most one {} address may be primary",
                address.address_type
            )));
        }
    }
    Ok(())
}

fn max_items(len: usize, max: usize) -> garde::Result {
    if len > max {
        return Err(garde::Error::new(format!("must hold at most {max} items, got {len}")));
    }
    Ok(())
}

fn replacement_contacts(value: &Option<Vec<ContactDraft>>, ctx: &()) -> garde::Result {
    match value {
        Some(contacts) => max_items(contacts.len(), MAX_CONTACTS).and_then(|()| one_primary_contact(contacts, ctx)),
        None => Ok(()),
    }
}

fn replacement_addresses(value: &Option<Vec<AddressDraft>>, ctx: &()) -> garde::Result {
    match value {
        Some(addresses) => {
            max_items(addresses.len(), MAX_ADDRESSES).and_then(|()| one_primary_per_type(addresses, ctx))
        }
        None => Ok(()),
    }
}

fn postal_code_rule(country: &Option<String>) -> impl FnOnce(&str, &()) -> garde::Result + '_ {
    move |code, ctx| {
        let in_kazakhstan = country.as_deref().is_none_or(is_kazakhstan);
        if in_kazakhstan {
            garde_kz_postal_code(code, ctx)
        } else if code.trim().is_empty() {
            Err(garde::Error::new("must not be blank"))
        } else if code.chars().count() > 20 {
            Err(garde::Error::new("must be at most 20 characters"))
        } else {
            Ok(())
        }
    }
}

fn coordinates_rule(value: &Coordinates, _: &()) -> garde::Result {
    if !(-90.0..=90.0).contains(&value.latitude) {
        return Err(garde::Error::new("latitude must be between -90 and 90"));
    }
    if !(-180.0..=180.0).contains(&value.longitude) {
        return Err(garde::Error::new("longitude must be between -180 and 180"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Contacts
// ---------------------------------------------------------------------------------------------

/// A contact person as sent by a client.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct ContactDraft {
    /// Required, 1..=100 characters.
    #[garde(length(chars, min = 1, max = 100))]
    pub first_name: String,
    /// Required, 1..=100 characters.
    #[garde(length(chars, min = 1, max = 100))]
    pub last_name: String,
    /// Up to 100 characters.
    #[garde(inner(length(chars, max = 100)))]
    pub middle_name: Option<String>,
    /// Up to 100 characters.
    #[garde(inner(length(chars, max = 100)))]
    pub position: Option<String>,
    /// Up to 100 characters.
    #[garde(inner(length(chars, max = 100)))]
    pub department: Option<String>,
    /// Required, a valid e-mail.
    #[garde(custom(garde_email))]
    pub email: String,
    /// Required, a valid phone (Kazakhstan forms are normalized to E.164).
    #[garde(custom(garde_phone))]
    pub phone: String,
    /// A valid phone.
    #[garde(inner(custom(garde_phone)))]
    pub mobile_phone: Option<String>,
    /// Main contact; false by default.
    #[garde(skip)]
    pub is_primary: Option<bool>,
    /// Decision maker; false by default.
    #[garde(skip)]
    pub is_decision_maker: Option<bool>,
    /// Messenger and network links, each up to 200 characters.
    #[garde(dive)]
    pub social_media: Option<SocialMediaDraft>,
    /// Up to 2,000 characters.
    #[garde(inner(length(chars, max = 2000)))]
    pub notes: Option<String>,
}

/// Messenger and network links as sent by a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Validate)]
pub struct SocialMediaDraft {
    /// LinkedIn.
    #[garde(inner(length(chars, max = 200)))]
    pub linkedin: Option<String>,
    /// Telegram.
    #[garde(inner(length(chars, max = 200)))]
    pub telegram: Option<String>,
    /// WhatsApp.
    #[garde(inner(length(chars, max = 200)))]
    pub whatsapp: Option<String>,
}

impl SocialMediaDraft {
    fn normalized(self) -> Self {
        Self {
            linkedin: trim_opt(self.linkedin),
            telegram: trim_opt(self.telegram),
            whatsapp: trim_opt(self.whatsapp),
        }
    }

    fn into_social_media(self) -> Option<SocialMedia> {
        let media = SocialMedia {
            linkedin: self.linkedin,
            telegram: self.telegram,
            whatsapp: self.whatsapp,
        };
        (media != SocialMedia::default()).then_some(media)
    }
}

impl From<&CustomerContact> for ContactDraft {
    /// The draft a stored contact would be sent as (to apply a partial change to it).
    fn from(c: &CustomerContact) -> Self {
        ContactDraft {
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            middle_name: c.middle_name.clone(),
            position: c.position.clone(),
            department: c.department.clone(),
            email: c.email.as_str().to_owned(),
            phone: c.phone.as_str().to_owned(),
            mobile_phone: c.mobile_phone.as_ref().map(|p| p.as_str().to_owned()),
            is_primary: Some(c.is_primary),
            is_decision_maker: Some(c.is_decision_maker),
            social_media: c.social_media.as_ref().map(|s| SocialMediaDraft {
                linkedin: s.linkedin.clone(),
                telegram: s.telegram.clone(),
                whatsapp: s.whatsapp.clone(),
            }),
            notes: c.notes.clone(),
        }
    }
}

impl ContactDraft {
    fn normalized(self) -> Self {
        Self {
            first_name: trim(self.first_name),
            last_name: trim(self.last_name),
            middle_name: trim_opt(self.middle_name),
            position: trim_opt(self.position),
            department: trim_opt(self.department),
            email: trim(self.email),
            phone: trim(self.phone),
            mobile_phone: trim_opt(self.mobile_phone),
            is_primary: self.is_primary,
            is_decision_maker: self.is_decision_maker,
            social_media: self.social_media.map(SocialMediaDraft::normalized),
            notes: trim_opt(self.notes),
        }
    }

    /// Validates one contact on its own (the sub-resource endpoints use this).
    pub fn parse(self) -> Result<NewContact, ValidationErrors> {
        let draft = self.normalized();
        let mut errors = ValidationErrors::new();
        if let Err(report) = draft.validate() {
            errors.extend_from_report("", report);
        }
        errors.into_result(|| draft.build("")).and_then(|r| r)
    }

    /// Builds the command from an already validated, normalized draft. `path` prefixes errors.
    fn build(self, path: &str) -> Result<NewContact, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let at = |field: &str| {
            if path.is_empty() {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            }
        };
        let email = errors.check(&at("email"), Email::parse(&self.email));
        let phone = errors.check(&at("phone"), Phone::parse(&self.phone));
        let mobile_phone = match self.mobile_phone.as_deref().map(Phone::parse).transpose() {
            Ok(v) => v,
            Err(e) => {
                errors.push(at("mobilePhone"), e.to_string());
                None
            }
        };
        match (email, phone) {
            (Some(email), Some(phone)) if errors.is_empty() => Ok(NewContact {
                first_name: self.first_name,
                last_name: self.last_name,
                middle_name: self.middle_name,
                position: self.position,
                department: self.department,
                email,
                phone,
                mobile_phone,
                is_primary: self.is_primary.unwrap_or(false),
                is_decision_maker: self.is_decision_maker.unwrap_or(false),
                social_media: self.social_media.and_then(SocialMediaDraft::into_social_media),
                notes: self.notes,
            }),
            _ => Err(errors),
        }
    }
}

/// A validated contact person, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
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
    /// E-mail.
    pub email: Email,
    /// Phone.
    pub phone: Phone,
    /// Mobile phone.
    pub mobile_phone: Option<Phone>,
    /// Main contact.
    pub is_primary: bool,
    /// Decision maker.
    pub is_decision_maker: bool,
    /// Links.
    pub social_media: Option<SocialMedia>,
    /// Free text.
    pub notes: Option<String>,
}

impl NewContact {
    /// The stored form, with a new id.
    pub fn into_contact(self, customer_id: CustomerId, now: OffsetDateTime) -> CustomerContact {
        CustomerContact {
            id: ContactId::new(),
            customer_id,
            first_name: self.first_name,
            last_name: self.last_name,
            middle_name: self.middle_name,
            position: self.position,
            department: self.department,
            email: self.email,
            phone: self.phone,
            mobile_phone: self.mobile_phone,
            is_primary: self.is_primary,
            is_decision_maker: self.is_decision_maker,
            social_media: self.social_media,
            notes: self.notes,
            created_at: now,
            updated_at: now,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

/// An address as sent by a client.
#[derive(Debug, Clone, PartialEq, Validate)]
pub struct AddressDraft {
    /// What it is used for.
    #[garde(skip)]
    pub address_type: AddressType,
    /// Required, 1..=300 characters.
    #[garde(length(chars, min = 1, max = 300))]
    pub street: String,
    /// Up to 50 characters.
    #[garde(inner(length(chars, max = 50)))]
    pub building: Option<String>,
    /// Up to 50 characters.
    #[garde(inner(length(chars, max = 50)))]
    pub apartment: Option<String>,
    /// Required, 1..=100 characters.
    #[garde(length(chars, min = 1, max = 100))]
    pub city: String,
    /// Up to 100 characters.
    #[garde(inner(length(chars, max = 100)))]
    pub region: Option<String>,
    /// Required; in Kazakhstan `050000` or `A05F4K5`.
    #[garde(custom(postal_code_rule(&self.country)))]
    pub postal_code: String,
    /// "Kazakhstan" when absent; up to 100 characters.
    #[garde(inner(length(chars, max = 100)))]
    pub country: Option<String>,
    /// Main address of its type; false by default.
    #[garde(skip)]
    pub is_primary: Option<bool>,
    /// Up to 200 characters.
    #[garde(inner(length(chars, max = 200)))]
    pub contact_name: Option<String>,
    /// A valid phone.
    #[garde(inner(custom(garde_phone)))]
    pub contact_phone: Option<String>,
    /// Up to 2,000 characters.
    #[garde(inner(length(chars, max = 2000)))]
    pub delivery_instructions: Option<String>,
    /// Latitude −90..=90, longitude −180..=180.
    #[garde(inner(custom(coordinates_rule)))]
    pub coordinates: Option<Coordinates>,
}

impl From<&CustomerAddress> for AddressDraft {
    /// The draft a stored address would be sent as (to apply a partial change to it).
    fn from(a: &CustomerAddress) -> Self {
        AddressDraft {
            address_type: a.address_type,
            street: a.street.clone(),
            building: a.building.clone(),
            apartment: a.apartment.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: Some(a.country.clone()),
            is_primary: Some(a.is_primary),
            contact_name: a.contact_name.clone(),
            contact_phone: a.contact_phone.as_ref().map(|p| p.as_str().to_owned()),
            delivery_instructions: a.delivery_instructions.clone(),
            coordinates: a.coordinates,
        }
    }
}

impl AddressDraft {
    /// A draft with the required fields.
    pub fn new(address_type: AddressType, street: &str, city: &str, postal_code: &str) -> Self {
        Self {
            address_type,
            street: street.to_owned(),
            building: None,
            apartment: None,
            city: city.to_owned(),
            region: None,
            postal_code: postal_code.to_owned(),
            country: None,
            is_primary: None,
            contact_name: None,
            contact_phone: None,
            delivery_instructions: None,
            coordinates: None,
        }
    }

    fn normalized(self) -> Self {
        Self {
            address_type: self.address_type,
            street: trim(self.street),
            building: trim_opt(self.building),
            apartment: trim_opt(self.apartment),
            city: trim(self.city),
            region: trim_opt(self.region),
            postal_code: trim(self.postal_code),
            country: trim_opt(self.country),
            is_primary: self.is_primary,
            contact_name: trim_opt(self.contact_name),
            contact_phone: trim_opt(self.contact_phone),
            delivery_instructions: trim_opt(self.delivery_instructions),
            coordinates: self.coordinates,
        }
    }

    /// Validates one address on its own (the sub-resource endpoints use this).
    pub fn parse(self) -> Result<NewAddress, ValidationErrors> {
        let draft = self.normalized();
        let mut errors = ValidationErrors::new();
        if let Err(report) = draft.validate() {
            errors.extend_from_report("", report);
        }
        errors.into_result(|| draft.build("")).and_then(|r| r)
    }

    fn build(self, path: &str) -> Result<NewAddress, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let at = |field: &str| {
            if path.is_empty() {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            }
        };
        let country = self.country.unwrap_or_else(|| "Kazakhstan".to_owned());
        let postal_code = if is_kazakhstan(&country) {
            errors
                .check(&at("postalCode"), KzPostalCode::parse(&self.postal_code))
                .map(|code| code.as_str().to_owned())
        } else {
            Some(self.postal_code)
        };
        let contact_phone = match self.contact_phone.as_deref().map(Phone::parse).transpose() {
            Ok(v) => v,
            Err(e) => {
                errors.push(at("contactPhone"), e.to_string());
                None
            }
        };
        match postal_code {
            Some(postal_code) if errors.is_empty() => Ok(NewAddress {
                address_type: self.address_type,
                street: self.street,
                building: self.building,
                apartment: self.apartment,
                city: self.city,
                region: self.region,
                postal_code,
                country,
                is_primary: self.is_primary.unwrap_or(false),
                contact_name: self.contact_name,
                contact_phone,
                delivery_instructions: self.delivery_instructions,
                coordinates: self.coordinates,
            }),
            _ => Err(errors),
        }
    }
}

/// A validated address, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAddress {
    /// What it is used for.
    pub address_type: AddressType,
    /// Street and house.
    pub street: String,
    /// Building.
    pub building: Option<String>,
    /// Apartment or office.
    pub apartment: Option<String>,
    /// City.
    pub city: String,
    /// Region.
    pub region: Option<String>,
    /// Postal code, normalized.
    pub postal_code: String,
    /// Country.
    pub country: String,
    /// Main address of its type.
    pub is_primary: bool,
    /// Who to ask for.
    pub contact_name: Option<String>,
    /// Their phone.
    pub contact_phone: Option<Phone>,
    /// Notes for the courier.
    pub delivery_instructions: Option<String>,
    /// Location.
    pub coordinates: Option<Coordinates>,
}

impl NewAddress {
    /// The stored form, with a new id.
    pub fn into_address(self, customer_id: CustomerId, now: OffsetDateTime) -> CustomerAddress {
        CustomerAddress {
            id: AddressId::new(),
            customer_id,
            address_type: self.address_type,
            street: self.street,
            building: self.building,
            apartment: self.apartment,
            city: self.city,
            region: self.region,
            postal_code: self.postal_code,
            country: self.country,
            is_primary: self.is_primary,
            contact_name: self.contact_name,
            contact_phone: self.contact_phone,
            delivery_instructions: self.delivery_instructions,
            coordinates: self.coordinates,
            created_at: now,
            updated_at: now,
        }
    }
}

fn build_contacts(drafts: Vec<ContactDraft>, errors: &mut ValidationErrors) -> Vec<NewContact> {
    let mut out = Vec::with_capacity(drafts.len());
    for (i, draft) in drafts.into_iter().enumerate() {
        match draft.build(&format!("contacts[{i}]")) {
            Ok(contact) => out.push(contact),
            Err(e) => e
                .errors()
                .iter()
                .for_each(|f| errors.push(f.field.clone(), f.message.clone())),
        }
    }
    out
}

fn build_addresses(drafts: Vec<AddressDraft>, errors: &mut ValidationErrors) -> Vec<NewAddress> {
    let mut out = Vec::with_capacity(drafts.len());
    for (i, draft) in drafts.into_iter().enumerate() {
        match draft.build(&format!("addresses[{i}]")) {
            Ok(address) => out.push(address),
            Err(e) => e
                .errors()
                .iter()
                .for_each(|f| errors.push(f.field.clone(), f.message.clone())),
        }
    }
    out
}

fn parse_opt<T, E: std::fmt::Display>(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<T> {
    value.and_then(|v| errors.check(field, parse(&v)))
}

fn into_custom_fields(value: Option<serde_json::Value>) -> Option<CustomFields> {
    match value {
        Some(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------------

/// A customer as sent to `POST /customers` (the spec's CreateCustomerDto).
#[derive(Debug, Clone, PartialEq, Validate)]
pub struct CustomerDraft {
    /// INDIVIDUAL or COMPANY.
    #[garde(skip)]
    pub customer_type: CustomerType,
    /// 2..=200 characters.
    #[garde(length(chars, min = 2, max = 200))]
    pub name: String,
    /// A valid e-mail; unique in the organization.
    #[garde(custom(garde_email))]
    pub email: String,
    /// A valid phone.
    #[garde(inner(custom(garde_phone)))]
    pub phone: Option<String>,
    /// A valid IIN (any customer type: a sole proprietor is a company with an IIN).
    #[garde(inner(custom(garde_iin)))]
    pub iin: Option<String>,
    /// A valid BIN, COMPANY only.
    #[garde(inner(custom(garde_bin)), custom(bin_needs_company(Some(self.customer_type))))]
    pub bin: Option<String>,
    /// Up to 200 characters.
    #[garde(inner(length(chars, max = 200)))]
    pub company_name: Option<String>,
    /// Head-count band.
    #[garde(skip)]
    pub company_size: Option<CompanySize>,
    /// Up to 100 characters.
    #[garde(inner(length(chars, max = 100)))]
    pub industry: Option<String>,
    /// ≥ 0, two decimals.
    #[garde(custom(non_negative_money))]
    pub credit_limit: Option<Decimal>,
    /// LEAD by default.
    #[garde(skip)]
    pub status: Option<CustomerStatus>,
    /// Up to 100 characters.
    #[garde(inner(length(chars, max = 100)))]
    pub lead_source: Option<String>,
    /// At most 50, at most one primary.
    #[garde(length(max = MAX_CONTACTS), custom(one_primary_contact), dive)]
    pub contacts: Vec<ContactDraft>,
    /// At most 50, at most one primary per type.
    #[garde(length(max = MAX_ADDRESSES), custom(one_primary_per_type), dive)]
    pub addresses: Vec<AddressDraft>,
    /// A JSON object of at most 16 KiB.
    #[garde(inner(custom(custom_fields_rule)))]
    pub custom_fields: Option<serde_json::Value>,
    /// At most 50 distinct tags of at most 50 characters.
    #[garde(custom(tags_rule), inner(custom(tag_rule)))]
    pub tags: Vec<String>,
    /// The responsible manager.
    #[garde(skip)]
    pub assigned_to: Option<Uuid>,
}

impl CustomerDraft {
    /// A draft with the required fields only.
    pub fn new(customer_type: CustomerType, name: &str, email: &str) -> Self {
        Self {
            customer_type,
            name: name.to_owned(),
            email: email.to_owned(),
            phone: None,
            iin: None,
            bin: None,
            company_name: None,
            company_size: None,
            industry: None,
            credit_limit: None,
            status: None,
            lead_source: None,
            contacts: Vec::new(),
            addresses: Vec::new(),
            custom_fields: None,
            tags: Vec::new(),
            assigned_to: None,
        }
    }

    fn normalized(self) -> Self {
        Self {
            name: trim(self.name),
            email: trim(self.email),
            phone: trim_opt(self.phone),
            iin: trim_opt(self.iin),
            bin: trim_opt(self.bin),
            company_name: trim_opt(self.company_name),
            industry: trim_opt(self.industry),
            lead_source: trim_opt(self.lead_source),
            contacts: self.contacts.into_iter().map(ContactDraft::normalized).collect(),
            addresses: self.addresses.into_iter().map(AddressDraft::normalized).collect(),
            ..self
        }
    }

    /// Checks every rule and returns the command, or every broken rule with its field path.
    pub fn parse(self) -> Result<NewCustomer, ValidationErrors> {
        let draft = self.normalized();
        let mut errors = ValidationErrors::new();
        if let Err(report) = draft.validate() {
            errors.extend_from_report("", report);
            return Err(errors);
        }
        let email = errors.check("email", Email::parse(&draft.email));
        let phone = parse_opt(&mut errors, "phone", draft.phone, Phone::parse);
        let iin = parse_opt(&mut errors, "iin", draft.iin, Iin::parse);
        let bin = parse_opt(&mut errors, "bin", draft.bin, Bin::parse);
        let credit_limit = draft
            .credit_limit
            .map_or(Ok(Money::ZERO), Money::parse_non_negative)
            .map_err(|e| errors.push("creditLimit", e.to_string()))
            .unwrap_or(Money::ZERO);
        let contacts = build_contacts(draft.contacts, &mut errors);
        let addresses = build_addresses(draft.addresses, &mut errors);
        match email {
            Some(email) if errors.is_empty() => Ok(NewCustomer {
                customer_type: draft.customer_type,
                status: draft.status.unwrap_or(CustomerStatus::Lead),
                name: draft.name,
                email,
                phone,
                iin,
                bin,
                company_name: draft.company_name,
                company_size: draft.company_size,
                industry: draft.industry,
                credit_limit,
                lead_source: draft.lead_source,
                custom_fields: into_custom_fields(draft.custom_fields),
                tags: normalize_tags(draft.tags),
                assigned_to: draft.assigned_to.map(UserId::from),
                contacts,
                addresses,
            }),
            _ => Err(errors),
        }
    }
}

/// A validated customer, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCustomer {
    /// Individual or company.
    pub customer_type: CustomerType,
    /// Funnel stage.
    pub status: CustomerStatus,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: Email,
    /// Phone.
    pub phone: Option<Phone>,
    /// IIN.
    pub iin: Option<Iin>,
    /// BIN.
    pub bin: Option<Bin>,
    /// Company name.
    pub company_name: Option<String>,
    /// Head-count band.
    pub company_size: Option<CompanySize>,
    /// Industry.
    pub industry: Option<String>,
    /// Credit limit.
    pub credit_limit: Money,
    /// Lead source.
    pub lead_source: Option<String>,
    /// Free-form attributes.
    pub custom_fields: Option<CustomFields>,
    /// Tags, normalized.
    pub tags: Vec<String>,
    /// Manager.
    pub assigned_to: Option<UserId>,
    /// Contact persons.
    pub contacts: Vec<NewContact>,
    /// Addresses.
    pub addresses: Vec<NewAddress>,
}

impl NewCustomer {
    /// The customer this command creates in `scope`: a new id, version 1, the defaults of a new
    /// customer (rating 5, active, no purchases), created and updated by `actor` at `now`.
    pub fn into_customer(self, scope: Scope, actor: UserId, now: OffsetDateTime) -> Customer {
        let id = CustomerId::new();
        Customer {
            id,
            organization_id: scope.organization_id,
            workspace_id: scope.workspace_id,
            customer_type: self.customer_type,
            status: self.status,
            name: self.name,
            email: self.email,
            phone: self.phone,
            iin: self.iin,
            bin: self.bin,
            company_name: self.company_name,
            company_size: self.company_size,
            industry: self.industry,
            credit_limit: self.credit_limit,
            current_balance: Money::ZERO,
            custom_fields: self.custom_fields,
            tags: self.tags,
            lead_source: self.lead_source,
            first_purchase_date: None,
            last_purchase_date: None,
            total_purchases: Money::ZERO,
            purchase_count: 0,
            lifetime_value: Money::ZERO,
            rating: Rating::DEFAULT,
            assigned_to: self.assigned_to,
            is_active: true,
            contacts: self.contacts.into_iter().map(|c| c.into_contact(id, now)).collect(),
            addresses: self.addresses.into_iter().map(|a| a.into_address(id, now)).collect(),
            converted_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
            created_by: Some(actor),
            updated_by: Some(actor),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

/// Changes as sent to `PUT /customers/{id}` (the spec's UpdateCustomerDto). `None` leaves a
/// field unchanged; for optional fields `Some(None)` (JSON `null` or a blank string) clears it.
/// `contacts` and `addresses`, when present, replace the whole set.
#[derive(Debug, Clone, Default, PartialEq, Validate)]
pub struct CustomerChangesDraft {
    /// New type.
    #[garde(skip)]
    pub customer_type: Option<CustomerType>,
    /// 2..=200 characters.
    #[garde(inner(length(chars, min = 2, max = 200)))]
    pub name: Option<String>,
    /// A valid e-mail.
    #[garde(inner(custom(garde_email)))]
    pub email: Option<String>,
    /// A valid phone, or clear.
    #[garde(inner(inner(custom(garde_phone))))]
    pub phone: Option<Option<String>>,
    /// A valid IIN, or clear.
    #[garde(inner(inner(custom(garde_iin))))]
    pub iin: Option<Option<String>>,
    /// A valid BIN, or clear.
    #[garde(inner(inner(custom(garde_bin))), inner(custom(bin_needs_company(self.customer_type))))]
    pub bin: Option<Option<String>>,
    /// Company name.
    #[garde(inner(inner(length(chars, max = 200))))]
    pub company_name: Option<Option<String>>,
    /// Head-count band.
    #[garde(skip)]
    pub company_size: Option<Option<CompanySize>>,
    /// Industry.
    #[garde(inner(inner(length(chars, max = 100))))]
    pub industry: Option<Option<String>>,
    /// ≥ 0.
    #[garde(custom(non_negative_money))]
    pub credit_limit: Option<Decimal>,
    /// New status.
    #[garde(skip)]
    pub status: Option<CustomerStatus>,
    /// Lead source.
    #[garde(inner(inner(length(chars, max = 100))))]
    pub lead_source: Option<Option<String>>,
    /// Replaces all contacts.
    #[garde(custom(replacement_contacts), dive)]
    pub contacts: Option<Vec<ContactDraft>>,
    /// Replaces all addresses.
    #[garde(custom(replacement_addresses), dive)]
    pub addresses: Option<Vec<AddressDraft>>,
    /// Replaces the custom fields, or clears them.
    #[garde(inner(inner(custom(custom_fields_rule))))]
    pub custom_fields: Option<Option<serde_json::Value>>,
    /// Replaces the tags.
    #[garde(inner(custom(tags_rule), inner(custom(tag_rule))))]
    pub tags: Option<Vec<String>>,
    /// New manager, or none.
    #[garde(skip)]
    pub assigned_to: Option<Option<Uuid>>,
    /// 1..=10.
    #[garde(custom(rating_rule))]
    pub rating: Option<i64>,
    /// Active flag.
    #[garde(skip)]
    pub is_active: Option<bool>,
    /// Balance (may be negative).
    #[garde(custom(any_money))]
    pub current_balance: Option<Decimal>,
}

impl CustomerChangesDraft {
    fn normalized(self) -> Self {
        Self {
            name: self.name.map(trim),
            email: self.email.map(trim),
            phone: trim_patch(self.phone),
            iin: trim_patch(self.iin),
            bin: trim_patch(self.bin),
            company_name: trim_patch(self.company_name),
            industry: trim_patch(self.industry),
            lead_source: trim_patch(self.lead_source),
            contacts: self
                .contacts
                .map(|c| c.into_iter().map(ContactDraft::normalized).collect()),
            addresses: self
                .addresses
                .map(|a| a.into_iter().map(AddressDraft::normalized).collect()),
            custom_fields: self.custom_fields.map(|v| v.filter(|v| !v.is_null())),
            ..self
        }
    }

    /// Checks every rule and returns the changes, or every broken rule with its field path.
    pub fn parse(self) -> Result<CustomerChanges, ValidationErrors> {
        let draft = self.normalized();
        let mut errors = ValidationErrors::new();
        if let Err(report) = draft.validate() {
            errors.extend_from_report("", report);
            return Err(errors);
        }
        fn patch<T, E: std::fmt::Display>(
            errors: &mut ValidationErrors,
            field: &str,
            value: Option<Option<String>>,
            parse: impl FnOnce(&str) -> Result<T, E>,
        ) -> Option<Option<T>> {
            match value {
                None => None,
                Some(None) => Some(None),
                Some(Some(v)) => errors.check(field, parse(&v)).map(Some),
            }
        }
        let email = draft.email.and_then(|e| errors.check("email", Email::parse(&e)));
        let phone = patch(&mut errors, "phone", draft.phone, Phone::parse);
        let iin = patch(&mut errors, "iin", draft.iin, Iin::parse);
        let bin = patch(&mut errors, "bin", draft.bin, Bin::parse);
        let credit_limit = draft
            .credit_limit
            .and_then(|v| errors.check("creditLimit", Money::parse_non_negative(v)));
        let current_balance = draft
            .current_balance
            .and_then(|v| errors.check("currentBalance", Money::parse(v)));
        let rating = draft.rating.and_then(|v| errors.check("rating", Rating::parse(v)));
        let contacts = draft.contacts.map(|c| build_contacts(c, &mut errors));
        let addresses = draft.addresses.map(|a| build_addresses(a, &mut errors));
        errors.into_result(|| CustomerChanges {
            customer_type: draft.customer_type,
            name: draft.name,
            email,
            phone,
            iin,
            bin,
            company_name: draft.company_name,
            company_size: draft.company_size,
            industry: draft.industry,
            credit_limit,
            status: draft.status,
            lead_source: draft.lead_source,
            custom_fields: draft.custom_fields.map(into_custom_fields),
            tags: draft.tags.map(normalize_tags),
            assigned_to: draft.assigned_to.map(|a| a.map(UserId::from)),
            rating,
            is_active: draft.is_active,
            current_balance,
            contacts,
            addresses,
        })
    }
}

/// Validated changes to a customer. `None`: unchanged; `Some(None)`: cleared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerChanges {
    /// Type.
    pub customer_type: Option<CustomerType>,
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Option<Phone>>,
    /// IIN.
    pub iin: Option<Option<Iin>>,
    /// BIN.
    pub bin: Option<Option<Bin>>,
    /// Company name.
    pub company_name: Option<Option<String>>,
    /// Head-count band.
    pub company_size: Option<Option<CompanySize>>,
    /// Industry.
    pub industry: Option<Option<String>>,
    /// Credit limit.
    pub credit_limit: Option<Money>,
    /// Status.
    pub status: Option<CustomerStatus>,
    /// Lead source.
    pub lead_source: Option<Option<String>>,
    /// Custom fields.
    pub custom_fields: Option<Option<CustomFields>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Manager.
    pub assigned_to: Option<Option<UserId>>,
    /// Rating.
    pub rating: Option<Rating>,
    /// Active flag.
    pub is_active: Option<bool>,
    /// Balance.
    pub current_balance: Option<Money>,
    /// New set of contacts.
    pub contacts: Option<Vec<NewContact>>,
    /// New set of addresses.
    pub addresses: Option<Vec<NewAddress>>,
}

// ---------------------------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------------------------

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// A note's text as sent by a client.
#[derive(Debug, Clone, PartialEq, Eq, Validate)]
pub struct NoteDraft {
    /// 1..=10,000 characters after trimming.
    #[garde(length(chars, min = 1, max = MAX_NOTE_CHARS))]
    pub body: String,
    /// How the interaction the note records took place.
    #[garde(skip)]
    pub channel: Option<NoteChannel>,
    /// Who started it.
    #[garde(skip)]
    pub direction: Option<NoteDirection>,
}

/// A note's validated content: its text and the interaction it records, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteContent {
    /// The trimmed text.
    pub body: String,
    /// The channel; on an update, `None` keeps the stored one.
    pub channel: Option<NoteChannel>,
    /// The direction; on an update, `None` keeps the stored one.
    pub direction: Option<NoteDirection>,
}

impl NoteDraft {
    /// The trimmed, validated content.
    pub fn parse(self) -> Result<NoteContent, ValidationErrors> {
        let draft = NoteDraft {
            body: trim(self.body),
            ..self
        };
        let mut errors = ValidationErrors::new();
        if let Err(report) = draft.validate() {
            errors.extend_from_report("", report);
        }
        errors.into_result(|| NoteContent {
            body: draft.body,
            channel: draft.channel,
            direction: draft.direction,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b2b_draft() -> CustomerDraft {
        CustomerDraft {
            phone: Some("+7 701 234 56 78".into()),
            bin: Some("971240001315".into()),
            company_name: Some("ТОО Альфа".into()),
            company_size: Some(CompanySize::Medium),
            credit_limit: Some(Decimal::from(5_000_000)),
            status: Some(CustomerStatus::Prospect),
            contacts: vec![ContactDraft {
                first_name: "Асет".into(),
                last_name: "Жумабеков".into(),
                email: "aset@alpha.kz".into(),
                phone: "+77011111111".into(),
                is_primary: Some(true),
                ..ContactDraft::default()
            }],
            addresses: vec![AddressDraft::new(
                AddressType::Billing,
                "ул. Абая, 150",
                "Алматы",
                "050000",
            )],
            tags: vec![" premium ".into(), "Premium".into(), "almaty".into()],
            ..CustomerDraft::new(CustomerType::Company, "ТОО Альфа", " Info@Alpha.KZ ")
        }
    }

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.errors().iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn parses_and_normalizes_the_b2b_example() {
        let customer = b2b_draft().parse().unwrap();
        assert_eq!(customer.email.as_str(), "info@alpha.kz");
        assert_eq!(customer.phone.unwrap().as_str(), "+77012345678");
        assert_eq!(customer.tags, vec!["premium", "almaty"]);
        assert_eq!(customer.credit_limit.to_string(), "5000000.00");
        assert_eq!(customer.status, CustomerStatus::Prospect);
        assert_eq!(customer.addresses[0].country, "Kazakhstan");
        assert!(customer.contacts[0].is_primary);
    }

    #[test]
    fn reports_every_broken_rule_with_its_wire_path() {
        let mut draft = b2b_draft();
        draft.name = "A".into();
        draft.email = "not-an-email".into();
        draft.credit_limit = Some(Decimal::from(-1));
        draft.contacts[0].first_name = " ".into();
        draft.addresses[0].postal_code = "12".into();
        draft.tags.push("x".repeat(51));
        let errors = draft.parse().unwrap_err();
        let mut got = fields(&errors);
        got.sort_unstable();
        assert_eq!(
            got,
            vec![
                "addresses[0].postalCode",
                "contacts[0].firstName",
                "creditLimit",
                "email",
                "name",
                "tags[3]"
            ]
        );
    }

    #[test]
    fn bin_is_for_companies_only_but_iin_is_allowed_on_both() {
        let mut draft = b2b_draft();
        draft.customer_type = CustomerType::Individual;
        assert_eq!(fields(&draft.parse().unwrap_err()), vec!["bin"]);

        let mut sole_proprietor = b2b_draft();
        sole_proprietor.bin = None;
        sole_proprietor.iin = Some("900515300017".into());
        // whatever the IIN validator says about this particular number, the rule is about type:
        let result = sole_proprietor.parse();
        if let Err(errors) = result {
            assert!(fields(&errors).iter().all(|f| *f == "iin"));
        }
    }

    #[test]
    fn at_most_one_primary_contact_and_one_primary_address_per_type() {
        let mut draft = b2b_draft();
        draft.contacts.push(ContactDraft {
            is_primary: Some(true),
            ..draft.contacts[0].clone()
        });
        let mut second = AddressDraft::new(AddressType::Billing, "ул. Сатпаева, 1", "Алматы", "A05F4K5");
        second.is_primary = Some(true);
        draft.addresses[0].is_primary = Some(true);
        draft.addresses.push(second);
        let mut shipping = AddressDraft::new(AddressType::Shipping, "x", "Алматы", "050060");
        shipping.is_primary = Some(true);
        draft.addresses.push(shipping);
        let errors = draft.parse().unwrap_err();
        let mut got = fields(&errors);
        got.sort_unstable();
        assert_eq!(got, vec!["addresses", "contacts"]);
    }

    #[test]
    fn foreign_addresses_keep_their_postal_code() {
        let mut draft = b2b_draft();
        let mut address = AddressDraft::new(AddressType::Office, "Tverskaya 1", "Moscow", "125009");
        address.country = Some("Russia".into());
        draft.addresses = vec![address];
        assert_eq!(draft.clone().parse().unwrap().addresses[0].postal_code, "125009");
        draft.addresses[0].postal_code = "x".repeat(21);
        assert_eq!(fields(&draft.parse().unwrap_err()), vec!["addresses[0].postalCode"]);
    }

    #[test]
    fn custom_fields_must_be_a_small_object() {
        let mut draft = b2b_draft();
        draft.custom_fields = Some(serde_json::json!([1, 2]));
        assert_eq!(fields(&draft.clone().parse().unwrap_err()), vec!["customFields"]);
        draft.custom_fields = Some(serde_json::json!({ "big": "x".repeat(MAX_CUSTOM_FIELDS_BYTES) }));
        assert_eq!(fields(&draft.parse().unwrap_err()), vec!["customFields"]);
    }

    #[test]
    fn too_many_contacts_or_tags_are_refused() {
        let mut draft = b2b_draft();
        let mut contact = draft.contacts[0].clone();
        contact.is_primary = None;
        draft.contacts = vec![contact; MAX_CONTACTS + 1];
        draft.tags = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        let errors = draft.parse().unwrap_err();
        let mut got = fields(&errors);
        got.sort_unstable();
        assert_eq!(got, vec!["contacts", "tags"]);
    }

    #[test]
    fn changes_distinguish_absent_from_cleared() {
        let changes = CustomerChangesDraft {
            phone: Some(Some("   ".into())),
            industry: Some(None),
            name: Some(" Beta ".into()),
            rating: Some(7),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(changes.phone, Some(None));
        assert_eq!(changes.industry, Some(None));
        assert_eq!(changes.name.as_deref(), Some("Beta"));
        assert_eq!(changes.rating.map(|r| r.value()), Some(7));
        assert_eq!(changes.email, None);
    }

    #[test]
    fn changes_are_validated_field_by_field() {
        let errors = CustomerChangesDraft {
            rating: Some(11),
            email: Some("bad".into()),
            current_balance: Some(Decimal::new(1005, 3)),
            customer_type: Some(CustomerType::Individual),
            bin: Some(Some("971240001315".into())),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        let mut got = fields(&errors);
        got.sort_unstable();
        assert_eq!(got, vec!["bin", "currentBalance", "email", "rating"]);
    }
}
