//! Contacts, addresses and notes of a customer:
//! `/api/v1/workspaces/{workspaceId}/customers/{customerId}/{contacts|addresses|notes}`.
//! A part of another customer, workspace or organization is not found.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use customers_domain::commands::{AddressDraft, ContactDraft};
use customers_domain::{AddressId, ContactId, NoteId};

use crate::app::Service;
use crate::auth::{BearerAuth, Permission};
use crate::dto::parts::{AddressPatch, ContactPatch, HistoryPage, NotePage, NoteRequest, NoteResponse};
use crate::dto::{AddressRequest, AddressResponse, ContactRequest, ContactResponse, IdParam};
use crate::json::JsonBody;
use crate::problem::{ApiError, ErrorResponse};
use crate::routes::{ApiTags, paging, target};

type Result<T> = std::result::Result<T, ErrorResponse>;

/// The sub-resource operations.
pub struct PartsApi {
    service: Arc<Service>,
}

impl PartsApi {
    /// Operations backed by `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self { service }
    }
}

#[derive(ApiResponse)]
enum Contacts {
    /// The customer's contacts.
    #[oai(status = 200)]
    Ok(Json<Vec<ContactResponse>>),
}

#[derive(ApiResponse)]
enum Contact {
    /// The contact.
    #[oai(status = 200)]
    Ok(Json<ContactResponse>),
}

#[derive(ApiResponse)]
enum ContactAdded {
    /// The contact was added.
    #[oai(status = 201)]
    Created(Json<ContactResponse>),
}

#[derive(ApiResponse)]
enum Addresses {
    /// The customer's addresses.
    #[oai(status = 200)]
    Ok(Json<Vec<AddressResponse>>),
}

#[derive(ApiResponse)]
enum Address {
    /// The address.
    #[oai(status = 200)]
    Ok(Json<AddressResponse>),
}

#[derive(ApiResponse)]
enum AddressAdded {
    /// The address was added.
    #[oai(status = 201)]
    Created(Json<AddressResponse>),
}

#[derive(ApiResponse)]
enum Notes {
    /// The customer's notes, newest first.
    #[oai(status = 200)]
    Ok(Json<NotePage>),
}

#[derive(ApiResponse)]
enum Note {
    /// The note.
    #[oai(status = 200)]
    Ok(Json<NoteResponse>),
}

#[derive(ApiResponse)]
enum NoteAdded {
    /// The note was added.
    #[oai(status = 201)]
    Created(Json<NoteResponse>),
}

#[derive(ApiResponse)]
enum History {
    /// The audit trail, newest first.
    #[oai(status = 200)]
    Ok(Json<HistoryPage>),
}

#[derive(ApiResponse)]
enum Removed {
    /// Removed.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::Customers")]
impl PartsApi {
    /// List contacts
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/contacts",
        method = "get",
        operation_id = "listContacts"
    )]
    async fn list_contacts(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
    ) -> Result<Contacts> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let contacts = self.service.contacts(scope, customer).await?;
        Ok(Contacts::Ok(Json(contacts.into_iter().map(Into::into).collect())))
    }

    /// Add a contact
    ///
    /// A primary contact un-marks the previous primary contact in the same transaction.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/contacts",
        method = "post",
        operation_id = "addContact"
    )]
    async fn add_contact(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        body: JsonBody<ContactRequest>,
    ) -> Result<ContactAdded> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::Update)?;
        let input = ContactDraft::from(body.0).parse().map_err(ApiError::from)?;
        let contact = self.service.add_contact(scope, auth.0.user(), customer, input).await?;
        Ok(ContactAdded::Created(Json(contact.into())))
    }

    /// Get a contact
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/contacts/:contactId",
        method = "get",
        operation_id = "getContact"
    )]
    async fn get_contact(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Contact.
        #[oai(name = "contactId")]
        contact_id: Path<IdParam>,
    ) -> Result<Contact> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let id = ContactId::from(contact_id.0.get("contactId")?);
        let contact = self.service.contact(scope, customer, id).await?;
        Ok(Contact::Ok(Json(contact.into())))
    }

    /// Update a contact
    ///
    /// Absent fields stay unchanged; `null` clears an optional field. Marking it primary
    /// un-marks the previous primary contact.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/contacts/:contactId",
        method = "put",
        operation_id = "updateContact"
    )]
    async fn update_contact(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Contact.
        #[oai(name = "contactId")]
        contact_id: Path<IdParam>,
        body: JsonBody<ContactPatch>,
    ) -> Result<Contact> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::Update)?;
        let id = ContactId::from(contact_id.0.get("contactId")?);
        let stored = self.service.contact(scope, customer, id).await?;
        let input = body
            .0
            .apply(ContactDraft::from(&stored))
            .parse()
            .map_err(ApiError::from)?;
        let contact = self
            .service
            .replace_contact(scope, auth.0.user(), customer, id, input)
            .await?;
        Ok(Contact::Ok(Json(contact.into())))
    }

    /// Remove a contact
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/contacts/:contactId",
        method = "delete",
        operation_id = "removeContact"
    )]
    async fn remove_contact(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Contact.
        #[oai(name = "contactId")]
        contact_id: Path<IdParam>,
    ) -> Result<Removed> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::Update)?;
        let id = ContactId::from(contact_id.0.get("contactId")?);
        self.service.remove_contact(scope, auth.0.user(), customer, id).await?;
        Ok(Removed::NoContent)
    }

    /// List addresses
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/addresses",
        method = "get",
        operation_id = "listAddresses"
    )]
    async fn list_addresses(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
    ) -> Result<Addresses> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let addresses = self.service.addresses(scope, customer).await?;
        Ok(Addresses::Ok(Json(addresses.into_iter().map(Into::into).collect())))
    }

    /// Add an address
    ///
    /// A primary address un-marks the previous primary address of the same type.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/addresses",
        method = "post",
        operation_id = "addAddress"
    )]
    async fn add_address(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        body: JsonBody<AddressRequest>,
    ) -> Result<AddressAdded> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::Update)?;
        let input = AddressDraft::from(body.0).parse().map_err(ApiError::from)?;
        let address = self.service.add_address(scope, auth.0.user(), customer, input).await?;
        Ok(AddressAdded::Created(Json(address.into())))
    }

    /// Get an address
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/addresses/:addressId",
        method = "get",
        operation_id = "getAddress"
    )]
    async fn get_address(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Address.
        #[oai(name = "addressId")]
        address_id: Path<IdParam>,
    ) -> Result<Address> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let id = AddressId::from(address_id.0.get("addressId")?);
        let address = self.service.address(scope, customer, id).await?;
        Ok(Address::Ok(Json(address.into())))
    }

    /// Update an address
    ///
    /// Absent fields stay unchanged; `null` clears an optional field. Marking it primary
    /// un-marks the previous primary address of its type.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/addresses/:addressId",
        method = "put",
        operation_id = "updateAddress"
    )]
    async fn update_address(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Address.
        #[oai(name = "addressId")]
        address_id: Path<IdParam>,
        body: JsonBody<AddressPatch>,
    ) -> Result<Address> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::Update)?;
        let id = AddressId::from(address_id.0.get("addressId")?);
        let stored = self.service.address(scope, customer, id).await?;
        let input = body
            .0
            .apply(AddressDraft::from(&stored))
            .parse()
            .map_err(ApiError::from)?;
        let address = self
            .service
            .replace_address(scope, auth.0.user(), customer, id, input)
            .await?;
        Ok(Address::Ok(Json(address.into())))
    }

    /// Remove an address
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/addresses/:addressId",
        method = "delete",
        operation_id = "removeAddress"
    )]
    async fn remove_address(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Address.
        #[oai(name = "addressId")]
        address_id: Path<IdParam>,
    ) -> Result<Removed> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::Update)?;
        let id = AddressId::from(address_id.0.get("addressId")?);
        self.service.remove_address(scope, auth.0.user(), customer, id).await?;
        Ok(Removed::NoContent)
    }

    /// Customer history
    ///
    /// The audit trail: who changed which field when, from which value to which, and through
    /// which route (`api`, `merge`), newest first. Filter by `field` (camelCase, e.g. `status`)
    /// and by date (`from`, `to`: RFC 3339 date-times, or dates).
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/history",
        method = "get",
        operation_id = "getCustomerHistory"
    )]
    async fn history(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Only this field.
        #[oai(validator(max_length = 100))]
        field: Query<Option<String>>,
        /// At or after.
        from: Query<Option<String>>,
        /// At or before.
        to: Query<Option<String>>,
        /// Page, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u32>>,
        /// Page size, 1..100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<History> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let mut errors = customers_domain::ValidationErrors::new();
        let filter = customers_domain::history::HistoryFilter {
            field: field.0.map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()),
            from: crate::routes::customers::parse_bound(&mut errors, "from", from.0.as_deref(), false),
            to: crate::routes::customers::parse_bound(&mut errors, "to", to.0.as_deref(), true),
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors).into());
        }
        let (page, limit) = paging(page.0, limit.0);
        let history = self.service.history(scope, customer, &filter, page, limit).await?;
        Ok(History::Ok(Json(history.into())))
    }

    /// Add a note
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/notes",
        method = "post",
        operation_id = "addNote"
    )]
    async fn add_note(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        body: JsonBody<NoteRequest>,
    ) -> Result<NoteAdded> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let text = body.0.into_draft().parse().map_err(ApiError::from)?;
        let note = self.service.add_note(scope, auth.0.user(), customer, text).await?;
        Ok(NoteAdded::Created(Json(note.into())))
    }

    /// List notes
    ///
    /// Newest first.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/notes",
        method = "get",
        operation_id = "listNotes"
    )]
    async fn list_notes(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Page, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u32>>,
        /// Page size, 1..100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Notes> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let (page, limit) = paging(page.0, limit.0);
        let notes = self.service.notes(scope, customer, page, limit).await?;
        Ok(Notes::Ok(Json(notes.into())))
    }

    /// Change a note
    ///
    /// Its author, or a user with `customers:update`, may change it.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/notes/:noteId",
        method = "put",
        operation_id = "updateNote"
    )]
    async fn update_note(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Note.
        #[oai(name = "noteId")]
        note_id: Path<IdParam>,
        body: JsonBody<NoteRequest>,
    ) -> Result<Note> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let id = NoteId::from(note_id.0.get("noteId")?);
        let text = body.0.into_draft().parse().map_err(ApiError::from)?;
        let may_edit_any = auth.0.has(Permission::Update);
        let note = self
            .service
            .update_note(scope, auth.0.user(), may_edit_any, customer, id, text)
            .await?;
        Ok(Note::Ok(Json(note.into())))
    }

    /// Delete a note
    ///
    /// Its author, or a user with `customers:update`, may delete it.
    #[oai(
        path = "/api/v1/workspaces/:workspaceId/customers/:customerId/notes/:noteId",
        method = "delete",
        operation_id = "deleteNote"
    )]
    async fn delete_note(
        &self,
        auth: BearerAuth,
        /// Workspace.
        #[oai(name = "workspaceId")]
        workspace_id: Path<IdParam>,
        /// Customer.
        #[oai(name = "customerId")]
        customer_id: Path<IdParam>,
        /// Note.
        #[oai(name = "noteId")]
        note_id: Path<IdParam>,
    ) -> Result<Removed> {
        let (scope, customer) = target(&auth.0, &workspace_id.0, &customer_id.0, Permission::View)?;
        let id = NoteId::from(note_id.0.get("noteId")?);
        let may_edit_any = auth.0.has(Permission::Update);
        self.service
            .delete_note(scope, auth.0.user(), may_edit_any, customer, id)
            .await?;
        Ok(Removed::NoContent)
    }
}
