//! The sim runtime's behaviours and injected failures, in virtual time.

use std::time::Duration;

use futures::StreamExt;
use keel_runtime::sim::{Behavior, KILLED_EXIT_CODE, SimRuntime};
use keel_runtime::{
    ContainerConfig, ContainerEventKind, ContainerRuntime, ContainerState, MetricsSource,
    RuntimeError, SandboxConfig,
};
use tokio::time::Instant;

async fn started(rt: &SimRuntime, image: &str, command: &[&str]) -> String {
    rt.pull_image(image).await.unwrap();
    let sb = rt
        .run_pod_sandbox(&SandboxConfig {
            namespace: "default".into(),
            name: "p".into(),
            uid: "u".into(),
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
    let id = rt
        .create_container(
            &sb,
            &ContainerConfig {
                name: "c".into(),
                image: image.into(),
                command: command.iter().map(|s| (*s).to_owned()).collect(),
                ..ContainerConfig::default()
            },
        )
        .await
        .unwrap();
    rt.start_container(&id).await.unwrap();
    id
}

async fn exited(rt: &SimRuntime, id: &str) -> (i32, String) {
    let mut events = rt.events();
    loop {
        if let ContainerState::Exited {
            exit_code, reason, ..
        } = rt.container_status(id).await.unwrap().state
        {
            return (exit_code, reason);
        }
        events.next().await;
    }
}

#[tokio::test(start_paused = true)]
async fn containers_exit_after_their_behaviour_says() {
    let rt = SimRuntime::new();
    rt.set_image_behavior("job:1", Behavior::exit_after(Duration::from_secs(30), 0));
    rt.set_command_behavior("crash", Behavior::crash_after(Duration::from_secs(5)));
    let start = Instant::now();
    let job = started(&rt, "job:1", &[]).await;
    let crasher = started(&rt, "job:1", &["crash"]).await;
    assert_eq!(
        exited(&rt, &crasher).await,
        (1, "Error".into()),
        "the command's behaviour wins"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(exited(&rt, &job).await, (0, "Completed".into()));
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert!(
        rt.logs(&job)
            .await
            .unwrap()
            .contains("c exited with code 0")
    );
}

#[tokio::test(start_paused = true)]
async fn a_container_ignoring_sigterm_is_killed_when_the_grace_period_ends() {
    let rt = SimRuntime::new();
    rt.set_image_behavior("stubborn", Behavior::run_forever().ignoring_sigterm());
    let id = started(&rt, "stubborn", &[]).await;
    let start = Instant::now();
    rt.stop_container(&id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(
        rt.container_status(&id).await.unwrap().state.exit_code(),
        Some(KILLED_EXIT_CODE)
    );
}

#[tokio::test(start_paused = true)]
async fn injected_failures() {
    let rt = SimRuntime::new();
    rt.fail_pulls("broken:1");
    assert!(matches!(
        rt.pull_image("broken:1").await,
        Err(RuntimeError::ImagePull { .. })
    ));
    rt.allow_pulls("broken:1");
    assert!(rt.pull_image("broken:1").await.is_ok());

    let id = started(&rt, "app:1", &[]).await;
    let mut events = rt.events();
    rt.set_exec_result(&id, Some(2));
    assert_eq!(
        rt.exec(&id, &["check".into()], Duration::from_secs(1))
            .await
            .unwrap()
            .exit_code,
        2
    );
    rt.crash(&id, 137);
    assert_eq!(
        events.next().await.unwrap().kind,
        ContainerEventKind::Exited(137)
    );
    assert!(
        rt.exec(&id, &["check".into()], Duration::from_secs(1))
            .await
            .is_err(),
        "no exec in an exited container"
    );
}

#[tokio::test(start_paused = true)]
async fn startup_latency_and_failing_probes() {
    let rt = SimRuntime::new();
    rt.set_image_behavior(
        "slow",
        Behavior::run_forever()
            .starting_in(Duration::from_secs(3))
            .failing_probes(),
    );
    let start = Instant::now();
    let id = started(&rt, "slow", &[]).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(
        rt.exec(&id, &["probe".into()], Duration::from_secs(1))
            .await
            .unwrap()
            .exit_code,
        1
    );
}

#[tokio::test(start_paused = true)]
async fn usage_is_reported_for_running_containers() {
    let rt = SimRuntime::new();
    rt.set_image_behavior("busy", Behavior::run_forever().using(250, 64 << 20));
    let id = started(&rt, "busy", &[]).await;
    let u = rt.pod_usage("default", "p").await.unwrap().unwrap();
    assert_eq!((u.cpu_milli, u.memory_bytes), (250, 64 << 20));
    assert_eq!(rt.node_usage("n").await.unwrap().unwrap().cpu_milli, 250);
    rt.crash(&id, 1);
    assert_eq!(
        rt.pod_usage("default", "p")
            .await
            .unwrap()
            .unwrap()
            .cpu_milli,
        0
    );
    assert_eq!(rt.pod_usage("default", "other").await.unwrap(), None);
}
