//! Bodies of the lifecycle operations: status, conversion, duplicates, merge, bulk, validation.

use poem_openapi::{Enum, Object};
use serde::Deserialize;
use uuid::Uuid;

use customers_domain::service::{BulkDeleteOutcome, DuplicateReport, SuggestedAction};
use customers_domain::values::{Bin, BinAttribute, BinEntityType, Iin, Sex};

use super::{CustomerResponse, CustomerStatus};
use crate::json::Amount;

/// A status change.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct ChangeStatusRequest {
    /// The new status (see the transition table in the operation's description).
    pub status: CustomerStatus,
    /// Why (kept in the event).
    #[oai(validator(max_length = 500))]
    #[serde(default)]
    pub reason: Option<String>,
}

/// A lead conversion.
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ConvertLeadRequest {
    /// New responsible manager.
    #[serde(default)]
    pub assigned_to: Option<Uuid>,
    /// Ask the deals module to open a first deal (`deal.create.requested`).
    #[serde(default)]
    pub create_deal: Option<bool>,
    /// Its title; "Deal with {name}" when absent.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub deal_title: Option<String>,
    /// Its expected value, ≥ 0.
    #[serde(default)]
    pub deal_value: Option<Amount>,
}

/// What to look for duplicates of.
#[derive(Debug, Clone, Default, Object, Deserialize)]
pub struct CheckDuplicateRequest {
    /// E-mail (compared case-insensitively).
    #[serde(default)]
    pub email: Option<String>,
    /// Phone (normalized to E.164 first).
    #[serde(default)]
    pub phone: Option<String>,
    /// IIN.
    #[serde(default)]
    pub iin: Option<String>,
    /// BIN.
    #[serde(default)]
    pub bin: Option<String>,
    /// Name: similar names are reported as possible duplicates.
    #[oai(validator(max_length = 200))]
    #[serde(default)]
    pub name: Option<String>,
}

/// What to do with checked data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SuggestedActionDto {
    /// An exact match exists: merge rather than create.
    #[oai(rename = "merge")]
    Merge,
    /// Only similar names: a person should look.
    #[oai(rename = "review")]
    Review,
    /// Nothing similar.
    #[oai(rename = "create")]
    Create,
}

/// A possible duplicate.
#[derive(Debug, Clone, Object)]
pub struct DuplicateMatchDto {
    /// `email`, `phone`, `iin`, `bin` (exact) or `name` (similar).
    pub field: String,
    /// The customer; absent when the value belongs to a customer of another workspace of the
    /// organization (creating would still be refused).
    #[oai(nullable)]
    pub customer: Option<CustomerResponse>,
    /// 1 for exact matches, the name similarity (0..1) otherwise.
    pub score: f64,
}

/// The result of a duplicate check.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DuplicateResult {
    /// Whether anything matched.
    pub has_duplicates: bool,
    /// Matches, best first.
    pub duplicates: Vec<DuplicateMatchDto>,
    /// What to do.
    pub suggested_action: SuggestedActionDto,
}

impl From<DuplicateReport> for DuplicateResult {
    fn from(report: DuplicateReport) -> Self {
        Self {
            has_duplicates: !report.duplicates.is_empty(),
            duplicates: report
                .duplicates
                .into_iter()
                .map(|m| DuplicateMatchDto {
                    field: m.field.to_owned(),
                    customer: m.customer.map(Into::into),
                    score: (m.score * 1000.0).round() / 1000.0,
                })
                .collect(),
            suggested_action: match report.suggested_action {
                SuggestedAction::Merge => SuggestedActionDto::Merge,
                SuggestedAction::Review => SuggestedActionDto::Review,
                SuggestedAction::Create => SuggestedActionDto::Create,
            },
        }
    }
}

/// A merge of duplicates into one customer.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MergeRequest {
    /// The customer that stays.
    pub primary_id: Uuid,
    /// The customers merged into it and removed (1..10).
    #[oai(validator(min_items = 1, max_items = 10))]
    pub duplicate_ids: Vec<Uuid>,
    /// Return the merged result without writing anything.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// Customers to delete. The original API's bare JSON array of ids is accepted as well.
#[derive(Debug, Clone, Object)]
pub struct BulkDeleteRequest {
    /// Ids (1..100).
    #[oai(validator(min_items = 1, max_items = 100))]
    pub ids: Vec<Uuid>,
}

impl<'de> Deserialize<'de> for BulkDeleteRequest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Object { ids: Vec<Uuid> },
            Array(Vec<Uuid>),
        }
        match Shape::deserialize(deserializer) {
            Ok(Shape::Object { ids } | Shape::Array(ids)) => Ok(Self { ids }),
            Err(_) => Err(serde::de::Error::custom(
                "expected {\"ids\": [uuid, …]} or an array of customer ids (UUIDs)",
            )),
        }
    }
}

/// The result of a bulk delete.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct BulkDeleteResult {
    /// Deleted now.
    pub deleted: Vec<Uuid>,
    /// Not live customers of the workspace (missing, of another workspace, already deleted).
    pub not_found: Vec<Uuid>,
}

impl From<BulkDeleteOutcome> for BulkDeleteResult {
    fn from(outcome: BulkDeleteOutcome) -> Self {
        Self {
            deleted: outcome.deleted.into_iter().map(Into::into).collect(),
            not_found: outcome.not_found.into_iter().map(Into::into).collect(),
        }
    }
}

/// An IIN to check.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct ValidateIinRequest {
    /// The IIN.
    pub iin: String,
}

/// A BIN to check.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct ValidateBinRequest {
    /// The BIN.
    pub bin: String,
}

/// One broken rule.
#[derive(Debug, Clone, Object)]
pub struct IdProblem {
    /// Which rule: `length`, `non_digit`, `date`, `century_digit`, `month`, `entity_type`,
    /// `attribute`, `checksum`, `never_issued`.
    pub code: String,
    /// Explanation.
    pub message: String,
}

/// Sex encoded in an IIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SexDto {
    /// Male.
    #[oai(rename = "MALE")]
    Male,
    /// Female.
    #[oai(rename = "FEMALE")]
    Female,
}

/// The result of an IIN check, with what a valid IIN tells.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct IinValidation {
    /// Whether the IIN is valid.
    pub valid: bool,
    /// Every rule it breaks.
    pub errors: Vec<IdProblem>,
    /// Birth date (absent for century digit 0, used for foreign nationals).
    #[oai(nullable)]
    pub birth_date: Option<time::Date>,
    /// Sex (absent for century digit 0).
    #[oai(nullable)]
    pub sex: Option<SexDto>,
    /// The 7th digit.
    #[oai(nullable)]
    pub century_digit: Option<u8>,
}

impl IinValidation {
    /// Checks `raw`.
    pub fn check(raw: &str) -> Self {
        match Iin::parse(raw) {
            Ok(iin) => Self {
                valid: true,
                errors: Vec::new(),
                birth_date: iin.birth_date(),
                sex: iin.sex().map(|s| match s {
                    Sex::Male => SexDto::Male,
                    Sex::Female => SexDto::Female,
                }),
                century_digit: Some(iin.century_digit()),
            },
            Err(_) => Self {
                valid: false,
                errors: Iin::problems(raw)
                    .iter()
                    .map(|e| IdProblem {
                        code: iin_code(e).into(),
                        message: e.to_string(),
                    })
                    .collect(),
                birth_date: None,
                sex: None,
                century_digit: None,
            },
        }
    }
}

fn iin_code(error: &customers_domain::values::IinError) -> &'static str {
    use customers_domain::values::IinError as E;
    match error {
        E::WrongLength { .. } => "length",
        E::NonDigit { .. } => "non_digit",
        E::InvalidBirthDate { .. } => "date",
        E::InvalidCenturyDigit { .. } => "century_digit",
        E::ChecksumMismatch { .. } => "checksum",
        E::NeverIssued => "never_issued",
    }
}

/// Entity type encoded in a BIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityTypeDto {
    /// 4: resident legal entity.
    ResidentLegalEntity,
    /// 5: non-resident legal entity.
    NonResidentLegalEntity,
    /// 6: individual entrepreneur in joint activity.
    JointActivityEntrepreneur,
}

/// Attribute encoded in a BIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttributeDto {
    /// 0: head office.
    HeadOffice,
    /// 1: branch.
    Branch,
    /// 2: representative office.
    RepresentativeOffice,
    /// 3: peasant (farm) enterprise.
    PeasantFarm,
}

/// The result of a BIN check, with what a valid BIN tells.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct BinValidation {
    /// Whether the BIN is valid.
    pub valid: bool,
    /// Every rule it breaks.
    pub errors: Vec<IdProblem>,
    /// Registration year.
    #[oai(nullable)]
    pub registration_year: Option<i32>,
    /// Registration month.
    #[oai(nullable)]
    pub registration_month: Option<u8>,
    /// Entity type.
    #[oai(nullable)]
    pub entity_type: Option<EntityTypeDto>,
    /// Attribute.
    #[oai(nullable)]
    pub attribute: Option<AttributeDto>,
}

impl BinValidation {
    /// Checks `raw`.
    pub fn check(raw: &str) -> Self {
        match Bin::parse(raw) {
            Ok(bin) => Self {
                valid: true,
                errors: Vec::new(),
                registration_year: Some(bin.registration_year()),
                registration_month: Some(bin.registration_month()),
                entity_type: Some(match bin.entity_type() {
                    BinEntityType::ResidentLegalEntity => EntityTypeDto::ResidentLegalEntity,
                    BinEntityType::NonResidentLegalEntity => EntityTypeDto::NonResidentLegalEntity,
                    BinEntityType::JointActivityEntrepreneur => EntityTypeDto::JointActivityEntrepreneur,
                }),
                attribute: Some(match bin.attribute() {
                    BinAttribute::HeadOffice => AttributeDto::HeadOffice,
                    BinAttribute::Branch => AttributeDto::Branch,
                    BinAttribute::RepresentativeOffice => AttributeDto::RepresentativeOffice,
                    BinAttribute::PeasantFarm => AttributeDto::PeasantFarm,
                }),
            },
            Err(_) => Self {
                valid: false,
                errors: Bin::problems(raw)
                    .iter()
                    .map(|e| IdProblem {
                        code: bin_code(e).into(),
                        message: e.to_string(),
                    })
                    .collect(),
                registration_year: None,
                registration_month: None,
                entity_type: None,
                attribute: None,
            },
        }
    }
}

fn bin_code(error: &customers_domain::values::BinError) -> &'static str {
    use customers_domain::values::BinError as E;
    match error {
        E::WrongLength { .. } => "length",
        E::NonDigit { .. } => "non_digit",
        E::InvalidRegistrationMonth { .. } => "month",
        E::InvalidEntityType { .. } => "entity_type",
        E::InvalidAttribute { .. } => "attribute",
        E::ChecksumMismatch { .. } => "checksum",
        E::NeverIssued => "never_issued",
    }
}
