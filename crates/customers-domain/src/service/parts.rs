//! Contacts, addresses and notes of a customer.
//!
//! Contacts and addresses are part of the customer aggregate: every change to them is a write
//! of the customer (version bumped, `customer.updated` emitted), so marking one primary
//! un-marks the previous one in the same transaction. Notes are not: a customer may have any
//! number of them, and they are stored on their own.

use time::OffsetDateTime;

use crate::commands::{MAX_ADDRESSES, MAX_CONTACTS, NewAddress, NewContact, NoteContent};
use crate::error::{CustomerError, ValidationErrors};
use crate::ids::{AddressId, ContactId, CustomerId, NoteId, Scope, UserId};
use crate::model::{Customer, CustomerAddress, CustomerContact, CustomerNote};
use crate::ports::{Clock, CustomerCache, CustomerRepository, CustomerSearch, EventPublisher, RepositoryError};
use crate::query::Page;

use super::{Children, CustomerService, change_events, internal};

/// A kind of child record of the customer aggregate (contacts, addresses): the same add,
/// replace and remove rules apply to both.
pub(crate) trait Part: Clone + Send + Sync {
    /// Its id type.
    type Id: PartialEq + Copy + Send + Sync;
    /// Its validated input.
    type New: Clone + Send + Sync;
    /// Singular name, for "not found".
    const NAME: &'static str;
    /// The customer field holding the list, for validation errors.
    const FIELD: &'static str;
    /// How many a customer may have.
    const MAX: usize;
    /// Which child set a write replaces.
    const CHILDREN: Children;
    /// Its id.
    fn id(&self) -> Self::Id;
    /// A new record of `customer`.
    fn build(input: Self::New, customer: CustomerId, now: OffsetDateTime) -> Self;
    /// Keeps `id` and `created_at` of `previous` (a replacement is the same record).
    fn keep_identity(&mut self, previous: &Self);
    /// The customer's records of this kind.
    fn list(customer: &Customer) -> &Vec<Self>;
    /// The same, to change.
    fn list_mut(customer: &mut Customer) -> &mut Vec<Self>;
    /// Un-marks the other primaries that `keep` competes with, when `keep` is primary.
    fn single_primary(items: &mut [Self], keep: Self::Id);
}

impl Part for CustomerContact {
    type Id = ContactId;
    type New = NewContact;
    const NAME: &'static str = "contact";
    const FIELD: &'static str = "contacts";
    const MAX: usize = MAX_CONTACTS;
    const CHILDREN: Children = Children {
        contacts: true,
        addresses: false,
    };
    fn id(&self) -> ContactId {
        self.id
    }
    fn build(input: NewContact, customer: CustomerId, now: OffsetDateTime) -> Self {
        input.into_contact(customer, now)
    }
    fn keep_identity(&mut self, previous: &Self) {
        self.id = previous.id;
        self.created_at = previous.created_at;
    }
    fn list(customer: &Customer) -> &Vec<Self> {
        &customer.contacts
    }
    fn list_mut(customer: &mut Customer) -> &mut Vec<Self> {
        &mut customer.contacts
    }
    fn single_primary(items: &mut [Self], keep: ContactId) {
        if items.iter().any(|c| c.id == keep && c.is_primary) {
            for contact in items.iter_mut().filter(|c| c.id != keep) {
                contact.is_primary = false;
            }
        }
    }
}

impl Part for CustomerAddress {
    type Id = AddressId;
    type New = NewAddress;
    const NAME: &'static str = "address";
    const FIELD: &'static str = "addresses";
    const MAX: usize = MAX_ADDRESSES;
    const CHILDREN: Children = Children {
        contacts: false,
        addresses: true,
    };
    fn id(&self) -> AddressId {
        self.id
    }
    fn build(input: NewAddress, customer: CustomerId, now: OffsetDateTime) -> Self {
        input.into_address(customer, now)
    }
    fn keep_identity(&mut self, previous: &Self) {
        self.id = previous.id;
        self.created_at = previous.created_at;
    }
    fn list(customer: &Customer) -> &Vec<Self> {
        &customer.addresses
    }
    fn list_mut(customer: &mut Customer) -> &mut Vec<Self> {
        &mut customer.addresses
    }
    fn single_primary(items: &mut [Self], keep: AddressId) {
        let Some(kept) = items
            .iter()
            .find(|a| a.id == keep && a.is_primary)
            .map(|a| a.address_type)
        else {
            return;
        };
        for address in items.iter_mut().filter(|a| a.id != keep && a.address_type == kept) {
            address.is_primary = false;
        }
    }
}

impl<R, S, C, E, K> CustomerService<R, S, C, E, K>
where
    R: CustomerRepository,
    S: CustomerSearch,
    C: CustomerCache,
    E: EventPublisher,
    K: Clock,
{
    /// The customer's contacts.
    pub async fn contacts(&self, scope: Scope, customer: CustomerId) -> Result<Vec<CustomerContact>, CustomerError> {
        self.parts(scope, customer).await
    }

    /// One contact of the customer.
    pub async fn contact(
        &self,
        scope: Scope,
        customer: CustomerId,
        contact: ContactId,
    ) -> Result<CustomerContact, CustomerError> {
        self.part(scope, customer, contact).await
    }

    /// Adds a contact; when it is primary, the previous primary contact is un-marked.
    pub async fn add_contact(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        input: NewContact,
    ) -> Result<CustomerContact, CustomerError> {
        self.add_part(scope, actor, customer, input).await
    }

    /// Replaces a contact's fields (its id and creation time stay).
    pub async fn replace_contact(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        contact: ContactId,
        input: NewContact,
    ) -> Result<CustomerContact, CustomerError> {
        self.replace_part(scope, actor, customer, contact, input).await
    }

    /// Removes a contact.
    pub async fn remove_contact(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        contact: ContactId,
    ) -> Result<(), CustomerError> {
        self.remove_part::<CustomerContact>(scope, actor, customer, contact)
            .await
    }

    /// The customer's addresses.
    pub async fn addresses(&self, scope: Scope, customer: CustomerId) -> Result<Vec<CustomerAddress>, CustomerError> {
        self.parts(scope, customer).await
    }

    /// One address of the customer.
    pub async fn address(
        &self,
        scope: Scope,
        customer: CustomerId,
        address: AddressId,
    ) -> Result<CustomerAddress, CustomerError> {
        self.part(scope, customer, address).await
    }

    /// Adds an address; when it is primary, the previous primary address of its type is
    /// un-marked.
    pub async fn add_address(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        input: NewAddress,
    ) -> Result<CustomerAddress, CustomerError> {
        self.add_part(scope, actor, customer, input).await
    }

    /// Replaces an address's fields (its id and creation time stay).
    pub async fn replace_address(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        address: AddressId,
        input: NewAddress,
    ) -> Result<CustomerAddress, CustomerError> {
        self.replace_part(scope, actor, customer, address, input).await
    }

    /// Removes an address.
    pub async fn remove_address(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        address: AddressId,
    ) -> Result<(), CustomerError> {
        self.remove_part::<CustomerAddress>(scope, actor, customer, address)
            .await
    }

    async fn parts<P: Part>(&self, scope: Scope, customer: CustomerId) -> Result<Vec<P>, CustomerError> {
        Ok(P::list(&self.get(scope, customer).await?).clone())
    }

    async fn part<P: Part>(&self, scope: Scope, customer: CustomerId, id: P::Id) -> Result<P, CustomerError> {
        self.parts::<P>(scope, customer)
            .await?
            .into_iter()
            .find(|p| p.id() == id)
            .ok_or(CustomerError::PartNotFound(P::NAME))
    }

    async fn add_part<P: Part>(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        input: P::New,
    ) -> Result<P, CustomerError> {
        let (_, after) = self
            .write(
                scope,
                actor,
                customer,
                None,
                P::CHILDREN,
                |current, now| {
                    if P::list(current).len() >= P::MAX {
                        return Err(ValidationErrors::single(
                            P::FIELD,
                            format!("a customer has at most {} {}", P::MAX, P::FIELD),
                        )
                        .into());
                    }
                    let mut next = current.clone();
                    let part = P::build(input.clone(), current.id, now);
                    let id = part.id();
                    P::list_mut(&mut next).push(part);
                    P::single_primary(P::list_mut(&mut next), id);
                    Ok(next)
                },
                change_events,
            )
            .await?;
        P::list(&after)
            .last()
            .cloned()
            .ok_or_else(|| CustomerError::Internal(format!("added {} missing", P::NAME)))
    }

    async fn replace_part<P: Part>(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        id: P::Id,
        input: P::New,
    ) -> Result<P, CustomerError> {
        let (_, after) = self
            .write(
                scope,
                actor,
                customer,
                None,
                P::CHILDREN,
                |current, now| {
                    let mut next = current.clone();
                    let slot = P::list_mut(&mut next)
                        .iter_mut()
                        .find(|p| p.id() == id)
                        .ok_or(CustomerError::PartNotFound(P::NAME))?;
                    let mut replacement = P::build(input.clone(), current.id, now);
                    replacement.keep_identity(slot);
                    *slot = replacement;
                    P::single_primary(P::list_mut(&mut next), id);
                    Ok(next)
                },
                change_events,
            )
            .await?;
        P::list(&after)
            .iter()
            .find(|p| p.id() == id)
            .cloned()
            .ok_or(CustomerError::PartNotFound(P::NAME))
    }

    async fn remove_part<P: Part>(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        id: P::Id,
    ) -> Result<(), CustomerError> {
        self.write(
            scope,
            actor,
            customer,
            None,
            P::CHILDREN,
            |current, _| {
                let mut next = current.clone();
                let list = P::list_mut(&mut next);
                let count = list.len();
                list.retain(|p| p.id() != id);
                if list.len() == count {
                    return Err(CustomerError::PartNotFound(P::NAME));
                }
                Ok(next)
            },
            change_events,
        )
        .await?;
        Ok(())
    }

    /// The customer's audit trail, newest first, filtered and paginated.
    pub async fn history(
        &self,
        scope: Scope,
        customer: CustomerId,
        filter: &crate::history::HistoryFilter,
        page: u32,
        limit: u32,
    ) -> Result<Page<crate::history::HistoryEntry>, CustomerError> {
        let events = self
            .repository
            .events_of(scope, customer)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)?;
        Ok(Page::slice(crate::history::history(&events, filter), page, limit))
    }

    /// Adds a note by `actor` (`content` from [`crate::commands::NoteDraft::parse`]).
    pub async fn add_note(
        &self,
        scope: Scope,
        actor: UserId,
        customer: CustomerId,
        content: NoteContent,
    ) -> Result<CustomerNote, CustomerError> {
        let now = self.clock.now();
        let note = CustomerNote {
            id: NoteId::new(),
            customer_id: customer,
            author_id: actor,
            body: content.body,
            channel: content.channel,
            direction: content.direction,
            created_at: now,
            updated_at: now,
        };
        match self.repository.add_note(scope, &note).await {
            Ok(()) => Ok(note),
            Err(RepositoryError::NotFound) => Err(CustomerError::NotFound),
            Err(other) => Err(internal(other)),
        }
    }

    /// The customer's notes, newest first.
    pub async fn notes(
        &self,
        scope: Scope,
        customer: CustomerId,
        page: u32,
        limit: u32,
    ) -> Result<Page<CustomerNote>, CustomerError> {
        self.repository
            .list_notes(scope, customer, page, limit)
            .await
            .map_err(internal)?
            .ok_or(CustomerError::NotFound)
    }

    /// Changes a note's text (and its channel and direction, where `content` names them; an
    /// absent one is kept). Only its author may, or a user allowed to update any customer
    /// (`may_edit_any`).
    pub async fn update_note(
        &self,
        scope: Scope,
        actor: UserId,
        may_edit_any: bool,
        customer: CustomerId,
        note: NoteId,
        content: NoteContent,
    ) -> Result<CustomerNote, CustomerError> {
        let mut stored = self.editable_note(scope, actor, may_edit_any, customer, note).await?;
        stored.body = content.body;
        stored.channel = content.channel.or(stored.channel);
        stored.direction = content.direction.or(stored.direction);
        stored.updated_at = self.clock.now();
        match self.repository.update_note(scope, &stored).await {
            Ok(()) => Ok(stored),
            Err(RepositoryError::NotFound) => Err(CustomerError::PartNotFound("note")),
            Err(other) => Err(internal(other)),
        }
    }

    /// Deletes a note, under the same rule as [`CustomerService::update_note`].
    pub async fn delete_note(
        &self,
        scope: Scope,
        actor: UserId,
        may_edit_any: bool,
        customer: CustomerId,
        note: NoteId,
    ) -> Result<(), CustomerError> {
        self.editable_note(scope, actor, may_edit_any, customer, note).await?;
        if self
            .repository
            .delete_note(scope, customer, note)
            .await
            .map_err(internal)?
        {
            Ok(())
        } else {
            Err(CustomerError::PartNotFound("note"))
        }
    }

    async fn editable_note(
        &self,
        scope: Scope,
        actor: UserId,
        may_edit_any: bool,
        customer: CustomerId,
        note: NoteId,
    ) -> Result<CustomerNote, CustomerError> {
        let stored = match self
            .repository
            .get_note(scope, customer, note)
            .await
            .map_err(internal)?
        {
            Some(stored) => stored,
            None => {
                // Tell a missing customer from a missing note.
                self.load(scope, customer).await?;
                return Err(CustomerError::PartNotFound("note"));
            }
        };
        if stored.author_id != actor && !may_edit_any {
            return Err(CustomerError::Forbidden(
                "only the author or a user with customers:update may change a note",
            ));
        }
        Ok(stored)
    }
}
