//! The gRPC adapter of the reporting service.

use crate::service::ReportingService as Reports;
use duban_platform::limits::admit;
use duban_proto::reporting::v1 as pb;
use duban_proto::reporting::v1::reporting_service_server::{ReportingService, ReportingServiceServer};
use tonic::{Request, Response, Status};

pub struct ReportingGrpc {
    reports: Reports,
}

impl ReportingGrpc {
    pub fn new(reports: Reports) -> Self {
        Self { reports }
    }

    pub fn into_server(self) -> ReportingServiceServer<Self> {
        // Reports with their rendering and attachments outgrow the 4 MB default.
        ReportingServiceServer::new(self)
            .max_encoding_message_size(256 * 1024 * 1024)
            .max_decoding_message_size(16 * 1024 * 1024)
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingGrpc {
    async fn list_reports(
        &self,
        request: Request<pb::ListReportsRequest>,
    ) -> Result<Response<pb::ListReportsResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.reports.list(&p, request.get_ref()).await?))
    }

    async fn get_report(&self, request: Request<pb::GetReportRequest>) -> Result<Response<pb::Report>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.reports.get(&p, request.get_ref()).await?))
    }

    async fn preview_report(
        &self,
        request: Request<pb::PreviewReportRequest>,
    ) -> Result<Response<pb::PreviewReportResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.reports.preview(&p, request.get_ref()).await?))
    }

    async fn issue_report(
        &self,
        request: Request<pb::IssueReportRequest>,
    ) -> Result<Response<pb::IssueReportResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.reports.issue(&p, request.get_ref()).await?))
    }

    async fn send_report(&self, request: Request<pb::SendReportRequest>) -> Result<Response<pb::Report>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.reports.send(&p, request.get_ref()).await?))
    }

    async fn list_schedules(
        &self,
        request: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.reports.schedules(&p).await?))
    }
}
