//! The gRPC adapter of the appraisal service.

use crate::service::AppraisalService as Appraisal;
use duban_platform::limits::admit;
use duban_proto::appraisal::v1 as pb;
use duban_proto::appraisal::v1::appraisal_service_server::{AppraisalService, AppraisalServiceServer};
use tonic::{Request, Response, Status};

pub struct AppraisalGrpc {
    appraisal: Appraisal,
}

impl AppraisalGrpc {
    pub fn new(appraisal: Appraisal) -> Self {
        Self { appraisal }
    }

    pub fn into_server(self) -> AppraisalServiceServer<Self> {
        AppraisalServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl AppraisalService for AppraisalGrpc {
    async fn get_rule_set(&self, request: Request<pb::GetRuleSetRequest>) -> Result<Response<pb::RuleSet>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.appraisal.get_rule_set(&p, request.get_ref().version).await?,
        ))
    }

    async fn list_rule_sets(
        &self,
        request: Request<pb::ListRuleSetsRequest>,
    ) -> Result<Response<pb::ListRuleSetsResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.appraisal.list_rule_sets(&p).await?))
    }

    async fn load_rule_set(&self, request: Request<pb::LoadRuleSetRequest>) -> Result<Response<pb::RuleSet>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(
            self.appraisal.load_rule_set(&p, request.get_ref()).await?,
        ))
    }

    async fn get_scorecard(
        &self,
        request: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::Scorecard>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.appraisal.scorecard(&p, request.get_ref()).await?))
    }

    async fn list_scorecards(
        &self,
        request: Request<pb::ListScorecardsRequest>,
    ) -> Result<Response<pb::ListScorecardsResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.appraisal.scorecards(&p, request.get_ref()).await?))
    }

    async fn list_rankings(
        &self,
        request: Request<pb::ListRankingsRequest>,
    ) -> Result<Response<pb::ListRankingsResponse>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.appraisal.rankings(&p, request.get_ref()).await?))
    }

    async fn get_period(&self, request: Request<pb::GetPeriodRequest>) -> Result<Response<pb::Period>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.appraisal.period(&p, &request.get_ref().key).await?))
    }

    async fn publish_period(&self, request: Request<pb::PublishPeriodRequest>) -> Result<Response<pb::Period>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.appraisal.publish(&p, request.get_ref()).await?))
    }

    async fn adjust_score(&self, request: Request<pb::AdjustScoreRequest>) -> Result<Response<pb::Adjustment>, Status> {
        let p = admit(&request)?;
        Ok(Response::new(self.appraisal.adjust(&p, request.get_ref()).await?))
    }
}
