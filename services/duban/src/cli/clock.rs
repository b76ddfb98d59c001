//! `duban clock …`: read, set and advance the shared dev clock.

use super::{ClientArgs, rpc_error};
use duban_proto::platform::v1 as pb;
use duban_proto::platform::v1::dev_clock_service_client::DevClockServiceClient;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum ClockCommand {
    /// Print the dev clock's time.
    Show {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set the dev clock, e.g. `2026-12-07T08:30:00+08:00`.
    Set {
        time: chrono::DateTime<chrono::FixedOffset>,
        /// Stop the clock at that instant instead of letting it run on.
        #[arg(long)]
        frozen: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Move the dev clock forward, e.g. `3d`, `36h`, `90m`.
    Advance {
        by: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn parse_duration(s: &str) -> anyhow::Result<chrono::Duration> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = n
        .parse()
        .map_err(|_| anyhow::anyhow!("`{s}` is not a duration like 3d, 36h, 90m, 30s"))?;
    Ok(match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        "s" | "" => chrono::Duration::seconds(n),
        _ => anyhow::bail!("`{s}` is not a duration like 3d, 36h, 90m, 30s"),
    })
}

fn print(state: pb::ClockState) {
    let now = state
        .now
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32))
        .map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).to_rfc3339())
        .unwrap_or_default();
    println!("{now}{}", if state.frozen { " (frozen)" } else { "" });
}

pub async fn run(data_dir: &Path, command: ClockCommand) -> anyhow::Result<()> {
    let request_id = uuid::Uuid::new_v4().to_string();
    match command {
        ClockCommand::Show { client } => {
            let (channel, bearer) = client.channel(data_dir).await?;
            let mut c = DevClockServiceClient::with_interceptor(channel, bearer);
            print(c.get_time(pb::GetTimeRequest {}).await.map_err(rpc_error)?.into_inner());
        }
        ClockCommand::Set { time, frozen, client } => {
            let (channel, bearer) = client.channel(data_dir).await?;
            let mut c = DevClockServiceClient::with_interceptor(channel, bearer);
            let time = prost_types::Timestamp {
                seconds: time.timestamp(),
                nanos: time.timestamp_subsec_nanos() as i32,
            };
            let out = c
                .set_time(pb::SetTimeRequest {
                    request_id,
                    time: Some(time),
                    frozen,
                })
                .await
                .map_err(rpc_error)?;
            print(out.into_inner());
        }
        ClockCommand::Advance { by, client } => {
            let by = parse_duration(&by)?;
            let (channel, bearer) = client.channel(data_dir).await?;
            let mut c = DevClockServiceClient::with_interceptor(channel, bearer);
            let out = c
                .advance(pb::AdvanceRequest {
                    request_id,
                    by: Some(prost_types::Duration {
                        seconds: by.num_seconds(),
                        nanos: 0,
                    }),
                })
                .await
                .map_err(rpc_error)?;
            print(out.into_inner());
        }
    }
    Ok(())
}
