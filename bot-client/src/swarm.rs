//! Runs the whole swarm: schedules the bots over the ramp, shows progress and collects
//! every bot's outcome into a [`SwarmReport`]. The bots join at one URL
//! ([`run_swarm_with`]) or each through matchmaking ([`run_swarm_matchmaking`]).

use crate::bot::{BotPlan, CLOSE_TIMEOUT, CONNECT_TIMEOUT, Route, WELCOME_TIMEOUT, run_bot};
use crate::config::{BotOptions, SwarmConfig};
use crate::live::{LiveCounters, spawn_progress_bar};
use crate::matchmake::{MATCHMAKE_TIMEOUT, Matchmaking, error_chain, http_client};
use crate::outcome::BotOutcome;
use crate::report::SwarmReport;
use crate::timeline::RttTimeline;
use crate::transport::{Transport, fallback_client};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Runs `config.bots` bots against `config.url` on the current tokio runtime and
/// reports what they saw; each bot flushes every input ([`BotOptions::default`]).
///
/// Bot `i` connects `ramp * i / bots` after the start; all of them stop sending at
/// `ramp + duration`, close with code 1000 and wait briefly for the server's close.
/// Never panics on network errors: a bot that fails is counted, and its reason kept.
/// Returns at most a few seconds after `ramp + duration` (every wait is bounded).
pub async fn run_swarm(config: SwarmConfig) -> SwarmReport {
    run_swarm_with(config, BotOptions::default()).await
}

/// [`run_swarm`], with every bot talking to its socket as `options` say.
pub async fn run_swarm_with(config: SwarmConfig, options: BotOptions) -> SwarmReport {
    let route = Route::Direct(config.url.clone());
    run(config, options, route).await
}

/// [`run_swarm_with`], but each bot joins through matchmaking instead of `config.url`
/// (which is not used): it posts `matchmaking`'s request to the server's `/matchmake`
/// itself, then connects to the seat it was given, wherever that is. `https://` servers
/// are trusted as `config.tls` says. The report's `rooms` say where the bots played and
/// `matchmake_ms` how long their requests took.
pub async fn run_swarm_matchmaking(config: SwarmConfig, options: BotOptions, matchmaking: Matchmaking) -> SwarmReport {
    let client = match http_client(&config.tls) {
        Ok(client) => client,
        Err(error) => {
            let reason = format!("building the matchmaking client: {}", error_chain(&error));
            let outcomes: Vec<BotOutcome> = (0..config.bots).map(|_| BotOutcome::failed(reason.clone())).collect();
            return SwarmReport::from_outcomes(config.bots, options, &outcomes, Duration::ZERO);
        }
    };
    let route = Route::Matchmake {
        client,
        matchmaking: Arc::new(matchmaking),
    };
    run(config, options, route).await
}

async fn run(config: SwarmConfig, options: BotOptions, route: Route) -> SwarmReport {
    let started = Instant::now();
    let deadline = started + config.ramp + config.duration;
    // A bot that connects just before the deadline may still spend its matchmaking,
    // connect and welcome timeouts, then close; past this it is cut off and counted as
    // failed.
    let matchmaking = match route {
        Route::Direct(_) => Duration::ZERO,
        Route::Matchmake { .. } => MATCHMAKE_TIMEOUT,
    };
    // On `auto`, a join whose WebSocket fails may take all that again over HTTP.
    let fallback = match options.transport {
        Transport::Auto => matchmaking + CONNECT_TIMEOUT + WELCOME_TIMEOUT,
        Transport::Ws | Transport::Http => Duration::ZERO,
    };
    let hard_stop = deadline
        + matchmaking
        + fallback
        + CONNECT_TIMEOUT
        + WELCOME_TIMEOUT
        + 2 * CLOSE_TIMEOUT
        + Duration::from_secs(1);
    let live = Arc::new(LiveCounters::default());
    let timeline = Arc::new(RttTimeline::new(started));
    let progress = config
        .show_progress
        .then(|| spawn_progress_bar(Arc::clone(&live), config.bots, config.ramp + config.duration));

    let connector = config.tls.connector();
    // One client for every bot's fallback sessions: its pool keeps the POSTs' connections.
    let http = match options.transport {
        Transport::Ws => None,
        Transport::Http | Transport::Auto => match fallback_client(&config.tls) {
            Ok(client) => Some(client),
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "no http client: the bots cannot fall back");
                None
            }
        },
    };
    let mut tasks = Vec::with_capacity(config.bots);
    for index in 0..config.bots {
        let plan = BotPlan {
            index,
            route: route.clone(),
            connector: connector.clone(),
            seed: config.seed,
            start_at: started + ramp_offset(config.ramp, index, config.bots),
            deadline,
            inputs_per_write: options.inputs_per_write,
            chaos_reconnects_per_minute: options.chaos_reconnects_per_minute,
            resume_lost: options.resume_lost,
            spectate: options.spectate,
            transport: options.transport,
            http: http.clone(),
        };
        tasks.push(tokio::spawn(run_bot(plan, Arc::clone(&live), Arc::clone(&timeline))));
    }

    let mut outcomes = Vec::with_capacity(tasks.len());
    for mut task in tasks {
        let outcome = match tokio::time::timeout_at(hard_stop, &mut task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join_error)) if join_error.is_panic() => BotOutcome::failed("bot task panicked".to_owned()),
            Ok(Err(_cancelled)) => BotOutcome::failed("bot task was cancelled".to_owned()),
            Err(_overran) => {
                task.abort();
                BotOutcome::failed("bot did not stop in time after the end of the run".to_owned())
            }
        };
        outcomes.push(outcome);
    }

    if let Some((bar, task)) = progress {
        task.abort();
        bar.finish_and_clear();
    }
    let mut report = SwarmReport::from_outcomes(config.bots, options, &outcomes, started.elapsed());
    report.timeline = timeline.seconds();
    report
}

/// When bot `index` of `bots` starts: evenly spread over `ramp`, the first at once.
fn ramp_offset(ramp: Duration, index: usize, bots: usize) -> Duration {
    if bots == 0 {
        return Duration::ZERO;
    }
    ramp.mul_f64(index as f64 / bots as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_start_evenly_spread_over_the_ramp() {
        let ramp = Duration::from_secs(4);
        let offsets: Vec<Duration> = (0..4).map(|index| ramp_offset(ramp, index, 4)).collect();
        assert_eq!(offsets, [0, 1, 2, 3].map(Duration::from_secs));
        assert_eq!(ramp_offset(Duration::ZERO, 3, 4), Duration::ZERO);
    }
}
