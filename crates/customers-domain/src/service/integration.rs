//! Other modules' events coming in (orders, deals, invoices), and what they feed: purchase
//! history, timeline, dead letters. Available when the repository also stores the inbound read
//! model ([`InboundStore`]).

use serde_json::Value;
use tracing::{info, warn};
use uuid::Uuid;

use crate::error::{CustomerError, ValidationErrors};
use crate::ids::{CustomerId, Scope};
use crate::integration::timeline::{TimelineEntry, TimelineFilter, timeline};
use crate::integration::{Channel, DeadLetter, InboundOutcome, InboundParseError, Purchase, parse_inbound};
use crate::ports::{Clock, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher, InboundStore};
use crate::query::Page;

use super::{CustomerService, internal};

/// What was done with an inbound event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Applied now.
    Applied {
        /// Its id.
        event_id: Uuid,
        /// Its type.
        event_type: &'static str,
    },
    /// Applied before under the same id: nothing done.
    Duplicate {
        /// Its id.
        event_id: Uuid,
        /// Its type.
        event_type: &'static str,
    },
    /// Not a type this service handles (other traffic of a shared stream): skipped.
    Ignored {
        /// Its type.
        event_type: String,
    },
    /// Refused and kept as a dead letter (stream only: over HTTP the refusal is the answer).
    DeadLettered {
        /// Why.
        reason: String,
    },
}

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository + InboundStore,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// Applies one inbound event (`raw`, the JSON text as received) exactly once.
    ///
    /// `authorized` is the scope of an HTTP producer's token and path: the envelope's
    /// organization and workspace must be that scope. Over HTTP every refusal is an error
    /// ([`CustomerError::Invalid`] naming the field) and also a dead letter; on the stream a
    /// refusal is a dead letter and [`Ingested::DeadLettered`], and an unknown type is
    /// [`Ingested::Ignored`]. Dead letters keep `raw` verbatim.
    pub async fn ingest(
        &self,
        raw: &str,
        channel: Channel,
        authorized: Option<Scope>,
    ) -> Result<Ingested, CustomerError> {
        let refuse = |errors: ValidationErrors, reason: String| async move {
            self.dead_letter(raw, channel, authorized, reason.clone()).await?;
            match channel {
                Channel::Http => Err(CustomerError::Invalid(errors)),
                Channel::Stream => Ok(Ingested::DeadLettered { reason }),
            }
        };
        let body: Value = match serde_json::from_str(raw) {
            Ok(body) => body,
            Err(err) => {
                let message = format!("the event is not JSON: {err}");
                return refuse(ValidationErrors::single(".", message.clone()), message).await;
            }
        };
        let envelope = match parse_inbound(&body) {
            Ok(envelope) => envelope,
            Err(InboundParseError::UnsupportedType(t)) if channel == Channel::Stream => {
                return Ok(Ingested::Ignored { event_type: t });
            }
            Err(InboundParseError::UnsupportedType(t)) => {
                let reason = InboundParseError::UnsupportedType(t).to_string();
                return refuse(ValidationErrors::single("type", reason.clone()), reason).await;
            }
            Err(InboundParseError::Invalid(errors)) => {
                let reason = InboundParseError::Invalid(errors.clone()).to_string();
                return refuse(errors, reason).await;
            }
        };
        if let Some(scope) = authorized {
            let mut errors = ValidationErrors::new();
            if envelope.organization_id != scope.organization_id {
                errors.push("organizationId", "must be the organization of the access token");
            }
            if envelope.workspace_id != scope.workspace_id {
                errors.push("workspaceId", "must be the workspace of the request path");
            }
            if !errors.is_empty() {
                let reason = InboundParseError::Invalid(errors.clone()).to_string();
                return refuse(errors, reason).await;
            }
        }
        let (event_id, event_type) = (envelope.event_id, envelope.type_name());
        let now = self.clock.now();
        let applied = self.repository.apply_inbound(&envelope, now).await;
        match &applied {
            Ok(InboundOutcome::Applied(Some(customer))) => self.bump(customer.scope()).await,
            // The outcome of a failure is unknown: the customer may have changed.
            Err(_) => {
                self.bump(Scope::new(envelope.organization_id, envelope.workspace_id))
                    .await;
            }
            Ok(_) => {}
        }
        match applied.map_err(internal)? {
            InboundOutcome::Applied(_) => {
                info!(%event_id, event_type, "inbound event applied");
                Ok(Ingested::Applied { event_id, event_type })
            }
            InboundOutcome::Duplicate => Ok(Ingested::Duplicate { event_id, event_type }),
            InboundOutcome::Refused(why) => {
                let errors = ValidationErrors::single("payload.customerId", why);
                refuse(
                    errors,
                    format!("{why} (customer {:?})", envelope.customer_id.map(|c| c.to_string())),
                )
                .await
            }
            InboundOutcome::UnknownCustomer => {
                let (field, reason) = match envelope.customer_id {
                    Some(customer) => (
                        if body.get("customerId").is_some_and(|v| !v.is_null()) {
                            "customerId"
                        } else {
                            "payload.customerId"
                        },
                        format!("unknown customer {customer} in workspace {}", envelope.workspace_id),
                    ),
                    None => (
                        "payload.orderId",
                        format!(
                            "the customer of this order does not exist (any more) in workspace {}",
                            envelope.workspace_id
                        ),
                    ),
                };
                let errors = ValidationErrors::single(field, "no such customer in this workspace");
                refuse(errors, reason).await
            }
        }
    }

    /// Keeps an inbound event that was refused (or could not be applied), verbatim, with
    /// why. Its organization, workspace, id and type are taken from `authorized` or, as far as
    /// readable, from the event itself; a letter without an organization and workspace is
    /// kept but listed by no workspace.
    pub async fn dead_letter(
        &self,
        raw: &str,
        channel: Channel,
        authorized: Option<Scope>,
        reason: String,
    ) -> Result<(), CustomerError> {
        let body: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        let uuid_at = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s.trim()).ok())
        };
        let letter = DeadLetter {
            id: Uuid::now_v7(),
            organization_id: authorized
                .map(|s| s.organization_id)
                .or(uuid_at("organizationId").map(Into::into)),
            workspace_id: authorized
                .map(|s| s.workspace_id)
                .or(uuid_at("workspaceId").map(Into::into)),
            event_id: uuid_at("eventId"),
            event_type: body
                .get("type")
                .and_then(Value::as_str)
                .map(|t| t.chars().take(100).collect()),
            channel,
            reason,
            body: raw.to_owned(),
            received_at: self.clock.now(),
        };
        warn!(channel = channel.as_str(), reason = %letter.reason, "inbound event dead-lettered");
        self.repository.add_dead_letter(&letter).await.map_err(internal)
    }

    /// The refused inbound events of `scope`, newest first.
    pub async fn dead_letters(&self, scope: Scope, page: u32, limit: u32) -> Result<Page<DeadLetter>, CustomerError> {
        self.repository.dead_letters(scope, page, limit).await.map_err(internal)
    }

    /// The orders of a customer, newest first, with their items.
    pub async fn purchase_history(
        &self,
        scope: Scope,
        customer: CustomerId,
        page: u32,
        limit: u32,
    ) -> Result<Page<Purchase>, CustomerError> {
        self.repository
            .purchases(scope, customer, page, limit)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)
    }

    /// One feed of what happened with a customer, newest first.
    pub async fn timeline(
        &self,
        scope: Scope,
        customer: CustomerId,
        filter: &TimelineFilter,
        page: u32,
        limit: u32,
    ) -> Result<Page<TimelineEntry>, CustomerError> {
        let events = self
            .repository
            .events_of(scope, customer)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        let activity = self
            .repository
            .activity_of(scope, customer)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        Ok(Page::slice(timeline(&events, &activity, filter), page, limit))
    }
}
