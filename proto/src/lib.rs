//! The gRPC contracts of Duban: generated messages, clients and servers, and the
//! encoded descriptor set for server reflection.

pub mod registry {
    pub mod v1 {
        tonic::include_proto!("duban.registry.v1");
    }
}
pub mod assignment {
    pub mod v1 {
        tonic::include_proto!("duban.assignment.v1");
    }
}
pub mod appraisal {
    pub mod v1 {
        tonic::include_proto!("duban.appraisal.v1");
    }
}
pub mod reporting {
    pub mod v1 {
        tonic::include_proto!("duban.reporting.v1");
    }
}
pub mod platform {
    pub mod v1 {
        tonic::include_proto!("duban.platform.v1");
    }
}

mod error_code;
pub use error_code::ErrorCode;

/// Every Duban contract plus its imports, encoded, for `grpc.reflection.v1`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/duban_descriptor.bin"));

/// The fully qualified gRPC service names, one per port.
pub mod service_names {
    pub const REGISTRY: &str = "duban.registry.v1.RegistryService";
    pub const ASSIGNMENT: &str = "duban.assignment.v1.AssignmentService";
    pub const APPRAISAL: &str = "duban.appraisal.v1.AppraisalService";
    pub const REPORTING: &str = "duban.reporting.v1.ReportingService";
    pub const DEV_CLOCK: &str = "duban.platform.v1.DevClockService";
}
