//! Compiles the contracts with protox (no system `protoc`) and writes the
//! descriptor set that server reflection serves.

use prost::Message;
use std::{env, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "duban/registry/v1/org.proto",
    "duban/registry/v1/items.proto",
    "duban/registry/v1/registry_service.proto",
    "duban/assignment/v1/assignment_service.proto",
    "duban/appraisal/v1/appraisal_service.proto",
    "duban/reporting/v1/reporting_service.proto",
    "duban/platform/v1/dev_clock.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=duban");
    let fds = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("duban_descriptor.bin"), fds.encode_to_vec())?;
    // Maps as BTreeMaps: a message then always encodes to the same bytes,
    // which the idempotency fingerprint of a request relies on.
    tonic_prost_build::configure()
        .btree_map(".")
        .build_client(true)
        .build_server(true)
        // Type names let the edge find a request's descriptor for its limits
        // (duban_platform::limits).
        .compile_fds_with_config(fds, {
            let mut config = tonic_prost_build::Config::new();
            config.enable_type_names();
            config
        })?;
    Ok(())
}
