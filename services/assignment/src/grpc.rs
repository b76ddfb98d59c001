//! The gRPC adapter of the assignment service.

use crate::assignments::AssignmentService as Assignments;
use crate::calendar::CalendarService;
use duban_platform::auth::principal;
use duban_platform::limits::admit;
use duban_platform::upload::UploadSettings;
use duban_proto::assignment::v1 as pb;
use duban_proto::assignment::v1::assignment_service_server::{AssignmentService, AssignmentServiceServer};
use tonic::{Request, Response, Status};

pub struct AssignmentGrpc {
    calendar: CalendarService,
    assignments: Assignments,
    pool: sqlx::PgPool,
    upload: UploadSettings,
}

impl AssignmentGrpc {
    pub fn new(
        calendar: CalendarService,
        assignments: Assignments,
        pool: sqlx::PgPool,
        upload: UploadSettings,
    ) -> Self {
        Self {
            calendar,
            assignments,
            pool,
            upload,
        }
    }

    pub fn into_server(self) -> AssignmentServiceServer<Self> {
        AssignmentServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl AssignmentService for AssignmentGrpc {
    type WatchEventsStream = tokio_stream::wrappers::ReceiverStream<Result<pb::Event, Status>>;

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let p = admit(&request)?;
        let rx = crate::watch::watch(self.pool.clone(), &p, request.get_ref())?;
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    async fn get_calendar(
        &self,
        request: Request<pb::GetCalendarRequest>,
    ) -> Result<Response<pb::CalendarYear>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.calendar.get(&p, request.get_ref().year).await?))
    }

    async fn list_calendars(
        &self,
        request: Request<pb::ListCalendarsRequest>,
    ) -> Result<Response<pb::ListCalendarsResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.calendar.list(&p).await?))
    }

    async fn load_calendar(
        &self,
        request: Request<pb::LoadCalendarRequest>,
    ) -> Result<Response<pb::CalendarYear>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.calendar.load(&p, request.get_ref()).await?))
    }

    async fn compute_deadlines(
        &self,
        request: Request<pb::ComputeDeadlinesRequest>,
    ) -> Result<Response<pb::ComputeDeadlinesResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.calendar.compute(&p, request.get_ref()).await?))
    }

    async fn list_policies(
        &self,
        request: Request<pb::ListPoliciesRequest>,
    ) -> Result<Response<pb::ListPoliciesResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.calendar.policies(&p).await?))
    }

    async fn assign_item(
        &self,
        request: Request<pb::AssignItemRequest>,
    ) -> Result<Response<pb::AssignItemResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.assign(&p, request.get_ref()).await?))
    }

    async fn get_assignment(
        &self,
        request: Request<pb::GetAssignmentRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.get(&p, &request.get_ref().id).await?))
    }

    async fn list_assignments(
        &self,
        request: Request<pb::ListAssignmentsRequest>,
    ) -> Result<Response<pb::ListAssignmentsResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.list(&p, request.get_ref()).await?))
    }

    async fn acknowledge(&self, request: Request<pb::AcknowledgeRequest>) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.acknowledge(&p, request.get_ref()).await?,
        ))
    }

    async fn submit_feedback(
        &self,
        request: Request<pb::SubmitFeedbackRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.feedback(&p, request.get_ref()).await?))
    }

    async fn verify(&self, request: Request<pb::VerifyRequest>) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.verify(&p, request.get_ref()).await?))
    }

    async fn close_out(&self, request: Request<pb::CloseOutRequest>) -> Result<Response<pb::CloseOutList>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.close_out(&p, request.get_ref()).await?))
    }

    async fn list_close_outs(
        &self,
        request: Request<pb::ListCloseOutsRequest>,
    ) -> Result<Response<pb::CloseOutList>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.close_outs(&p, request.get_ref()).await?))
    }

    async fn request_extension(
        &self,
        request: Request<pb::RequestExtensionRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.request_extension(&p, request.get_ref()).await?,
        ))
    }

    async fn request_suspension(
        &self,
        request: Request<pb::RequestSuspensionRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.request_suspension(&p, request.get_ref()).await?,
        ))
    }

    async fn decide_request(
        &self,
        request: Request<pb::DecideRequestRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.decide(&p, request.get_ref()).await?))
    }

    async fn resume(&self, request: Request<pb::ResumeRequest>) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.resume(&p, request.get_ref()).await?))
    }

    async fn urge(&self, request: Request<pb::UrgeRequest>) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.urge(&p, request.get_ref()).await?))
    }

    async fn judge_urge_response(
        &self,
        request: Request<pb::JudgeUrgeResponseRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.judge(&p, request.get_ref()).await?))
    }

    async fn re_inspect(
        &self,
        request: Request<pb::ReInspectRequest>,
    ) -> Result<Response<pb::ReInspectResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.reinspect(&p, request.get_ref()).await?))
    }

    async fn submit_plan(&self, request: Request<pb::SubmitPlanRequest>) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.submit_plan(&p, request.get_ref()).await?,
        ))
    }

    async fn decide_plan(&self, request: Request<pb::DecidePlanRequest>) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.decide_plan(&p, request.get_ref()).await?,
        ))
    }

    async fn set_attention(
        &self,
        request: Request<pb::SetAttentionRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.set_attention(&p, request.get_ref()).await?,
        ))
    }

    async fn publish_for_claim(
        &self,
        request: Request<pb::PublishForClaimRequest>,
    ) -> Result<Response<pb::ClaimOffer>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.publish_for_claim(&p, request.get_ref()).await?,
        ))
    }

    async fn list_claim_offers(
        &self,
        request: Request<pb::ListClaimOffersRequest>,
    ) -> Result<Response<pb::ListClaimOffersResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.list_claim_offers(&p, request.get_ref()).await?,
        ))
    }

    async fn claim(&self, request: Request<pb::ClaimRequest>) -> Result<Response<pb::Assignment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.assignments.claim(&p, request.get_ref()).await?))
    }

    async fn close_claim_offer(
        &self,
        request: Request<pb::CloseClaimOfferRequest>,
    ) -> Result<Response<pb::ClaimOffer>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.assignments.close_claim_offer(&p, request.get_ref()).await?,
        ))
    }

    async fn import_assignments(
        &self,
        request: Request<tonic::Streaming<pb::ImportAssignmentsRequest>>,
    ) -> Result<Response<pb::ImportAssignmentsResponse>, Status> {
        let p = principal(&request)?;
        let (options, history) = Assignments::receive_history(&p, request.into_inner(), self.upload).await?;
        Ok(Response::new(
            self.assignments.import_assignments(&p, &options, &history).await?,
        ))
    }
}
