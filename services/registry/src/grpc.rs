//! The gRPC adapter: takes the principal the auth layer established, hands
//! the request to the service, maps the error once.

use crate::items::ledger::LedgerImport;
use crate::items::service::ItemService;
use crate::org::service::OrgService;
use duban_platform::auth::principal;
use duban_platform::limits::admit;
use duban_platform::upload::UploadSettings;
use duban_proto::registry::v1 as pb;
use duban_proto::registry::v1::registry_service_server::RegistryService;
use tonic::{Request, Response, Status};

pub struct RegistryGrpc {
    org: OrgService,
    items: ItemService,
    upload: UploadSettings,
}

impl RegistryGrpc {
    pub fn new(org: OrgService, items: ItemService, upload: UploadSettings) -> Self {
        Self { org, items, upload }
    }

    pub fn into_server(self) -> pb::registry_service_server::RegistryServiceServer<Self> {
        pb::registry_service_server::RegistryServiceServer::new(self)
    }
}

/// Runs one RPC: principal, service call, error mapping.
macro_rules! rpc {
    ($self:ident, $request:ident, $method:ident) => {
        rpc!($self, $request, org, $method)
    };
    ($self:ident, $request:ident, $service:ident, $method:ident) => {{
        let p = admit(&$request)?;
        Ok(Response::new($self.$service.$method(&p, $request.get_ref()).await?))
    }};
}

#[tonic::async_trait]
impl RegistryService for RegistryGrpc {
    async fn create_unit(&self, request: Request<pb::CreateUnitRequest>) -> Result<Response<pb::Unit>, Status> {
        rpc!(self, request, create_unit)
    }

    async fn get_unit(&self, request: Request<pb::GetUnitRequest>) -> Result<Response<pb::Unit>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.org.get_unit(&p, &request.get_ref().id).await?))
    }

    async fn list_units(
        &self,
        request: Request<pb::ListUnitsRequest>,
    ) -> Result<Response<pb::ListUnitsResponse>, Status> {
        rpc!(self, request, list_units)
    }

    async fn update_unit(&self, request: Request<pb::UpdateUnitRequest>) -> Result<Response<pb::Unit>, Status> {
        rpc!(self, request, update_unit)
    }

    async fn create_person(&self, request: Request<pb::CreatePersonRequest>) -> Result<Response<pb::Person>, Status> {
        rpc!(self, request, create_person)
    }

    async fn get_person(&self, request: Request<pb::GetPersonRequest>) -> Result<Response<pb::Person>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.org.get_person(&p, &request.get_ref().id).await?))
    }

    async fn list_people(
        &self,
        request: Request<pb::ListPeopleRequest>,
    ) -> Result<Response<pb::ListPeopleResponse>, Status> {
        rpc!(self, request, list_people)
    }

    async fn update_person(&self, request: Request<pb::UpdatePersonRequest>) -> Result<Response<pb::Person>, Status> {
        rpc!(self, request, update_person)
    }

    async fn assign_unit_officer(
        &self,
        request: Request<pb::AssignUnitOfficerRequest>,
    ) -> Result<Response<pb::Unit>, Status> {
        rpc!(self, request, assign_unit_officer)
    }

    async fn list_unit_officer_terms(
        &self,
        request: Request<pb::ListUnitOfficerTermsRequest>,
    ) -> Result<Response<pb::ListUnitOfficerTermsResponse>, Status> {
        rpc!(self, request, list_unit_officer_terms)
    }

    async fn set_supervised_units(
        &self,
        request: Request<pb::SetSupervisedUnitsRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        rpc!(self, request, set_supervised_units)
    }

    async fn create_role_binding(
        &self,
        request: Request<pb::CreateRoleBindingRequest>,
    ) -> Result<Response<pb::RoleBinding>, Status> {
        rpc!(self, request, create_role_binding)
    }

    async fn delete_role_binding(
        &self,
        request: Request<pb::DeleteRoleBindingRequest>,
    ) -> Result<Response<pb::DeleteRoleBindingResponse>, Status> {
        rpc!(self, request, delete_role_binding)
    }

    async fn list_role_bindings(
        &self,
        request: Request<pb::ListRoleBindingsRequest>,
    ) -> Result<Response<pb::ListRoleBindingsResponse>, Status> {
        rpc!(self, request, list_role_bindings)
    }

    async fn import_org_directory(
        &self,
        request: Request<pb::ImportOrgDirectoryRequest>,
    ) -> Result<Response<pb::ImportOrgDirectoryResponse>, Status> {
        rpc!(self, request, import)
    }

    async fn create_source(&self, request: Request<pb::CreateSourceRequest>) -> Result<Response<pb::Source>, Status> {
        rpc!(self, request, items, create_source)
    }

    async fn get_source(&self, request: Request<pb::GetSourceRequest>) -> Result<Response<pb::Source>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.items.get_source(&p, &request.get_ref().id).await?))
    }

    async fn list_sources(
        &self,
        request: Request<pb::ListSourcesRequest>,
    ) -> Result<Response<pb::ListSourcesResponse>, Status> {
        rpc!(self, request, items, list_sources)
    }

    async fn create_item(&self, request: Request<pb::CreateItemRequest>) -> Result<Response<pb::Item>, Status> {
        rpc!(self, request, items, create_item)
    }

    async fn get_item(&self, request: Request<pb::GetItemRequest>) -> Result<Response<pb::Item>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.items.get_item(&p, &request.get_ref().id).await?))
    }

    async fn update_item(&self, request: Request<pb::UpdateItemRequest>) -> Result<Response<pb::Item>, Status> {
        rpc!(self, request, items, update_item)
    }

    async fn submit_item(&self, request: Request<pb::SubmitItemRequest>) -> Result<Response<pb::Item>, Status> {
        rpc!(self, request, items, submit_item)
    }

    async fn approve_item(&self, request: Request<pb::ApproveItemRequest>) -> Result<Response<pb::Item>, Status> {
        rpc!(self, request, items, approve_item)
    }

    async fn reject_item(&self, request: Request<pb::RejectItemRequest>) -> Result<Response<pb::Item>, Status> {
        rpc!(self, request, items, reject_item)
    }

    async fn register_items_from_decisions(
        &self,
        request: Request<pb::RegisterItemsFromDecisionsRequest>,
    ) -> Result<Response<pb::RegisterItemsFromDecisionsResponse>, Status> {
        rpc!(self, request, items, register_from_decisions)
    }

    async fn decompose_item(
        &self,
        request: Request<pb::DecomposeItemRequest>,
    ) -> Result<Response<pb::DecomposeItemResponse>, Status> {
        rpc!(self, request, items, decompose_item)
    }

    async fn list_items(
        &self,
        request: Request<pb::ListItemsRequest>,
    ) -> Result<Response<pb::ListItemsResponse>, Status> {
        rpc!(self, request, items, list_items)
    }

    async fn import_ledger(
        &self,
        request: Request<tonic::Streaming<pb::ImportLedgerRequest>>,
    ) -> Result<Response<pb::ImportLedgerResponse>, Status> {
        let p = principal(&request)?;
        let upload = LedgerImport::receive(&self.items, &p, request.into_inner(), self.upload).await?;
        Ok(Response::new(self.items.import_ledger(&p, upload).await?))
    }
}
