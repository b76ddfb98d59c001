//! The gRPC adapter of the assignment service.

use crate::calendar::CalendarService;
use duban_platform::auth::principal;
use duban_proto::assignment::v1 as pb;
use duban_proto::assignment::v1::assignment_service_server::{AssignmentService, AssignmentServiceServer};
use tonic::{Request, Response, Status};

pub struct AssignmentGrpc {
    calendar: CalendarService,
}

impl AssignmentGrpc {
    pub fn new(calendar: CalendarService) -> Self {
        Self { calendar }
    }

    pub fn into_server(self) -> AssignmentServiceServer<Self> {
        AssignmentServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl AssignmentService for AssignmentGrpc {
    async fn get_calendar(
        &self,
        request: Request<pb::GetCalendarRequest>,
    ) -> Result<Response<pb::CalendarYear>, Status> {
        let p = principal(&request)?;
        Ok(Response::new(self.calendar.get(&p, request.get_ref().year).await?))
    }

    async fn list_calendars(
        &self,
        request: Request<pb::ListCalendarsRequest>,
    ) -> Result<Response<pb::ListCalendarsResponse>, Status> {
        let p = principal(&request)?;
        Ok(Response::new(self.calendar.list(&p).await?))
    }

    async fn load_calendar(
        &self,
        request: Request<pb::LoadCalendarRequest>,
    ) -> Result<Response<pb::CalendarYear>, Status> {
        let p = principal(&request)?;
        Ok(Response::new(self.calendar.load(&p, request.get_ref()).await?))
    }

    async fn compute_deadlines(
        &self,
        request: Request<pb::ComputeDeadlinesRequest>,
    ) -> Result<Response<pb::ComputeDeadlinesResponse>, Status> {
        let p = principal(&request)?;
        Ok(Response::new(self.calendar.compute(&p, request.get_ref()).await?))
    }

    async fn list_policies(
        &self,
        request: Request<pb::ListPoliciesRequest>,
    ) -> Result<Response<pb::ListPoliciesResponse>, Status> {
        let p = principal(&request)?;
        Ok(Response::new(self.calendar.policies(&p).await?))
    }
}
