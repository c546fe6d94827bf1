"""The benchmarks of `python -m bench`, at smoke size, so they cannot rot.

Each module's run() is called with sizes far below --quick and the results are checked for shape
and sense (the server-side path moves no payload through drctl, streaming moves it twice, a
makespan is not shorter than its critical path). Timings are never asserted: the figures and
their goals live in docs/performance.md, produced by `python -m bench` on a quiet machine.
"""

from __future__ import annotations

import json

import pytest

from bench import offline, overhead, pg_physical, pg_restore, rehydration, scale, scheduling, validation
from bench.lake import MIB, close_all
from bench.report import Result, table, write_docs
from bench.synthetic import synthetic_plan


def by_name(results: list[Result]) -> dict[str, Result]:
    assert all(isinstance(r, Result) for r in results)
    names = [r.name for r in results]
    assert len(names) == len(set(names)), "figure names must be unique"
    for r in results:
        assert isinstance(r.value, (int, float)) and r.unit
        assert r.goal is None or r.goal.split(" ", 1)[0] in ("<=", "<", ">=", ">", "==")
    return {r.name: r for r in results}


@pytest.fixture(scope="module", autouse=True)
def _stop_the_shared_azurite():
    yield
    close_all()


def test_synthetic_plans_have_exactly_the_steps_asked_for():
    for steps in (7, 8, 11, 50, 500):
        plan = synthetic_plan(steps)
        assert len(plan.steps) == steps
        assert plan.steps[-1].id == "platform.handover"
    assert synthetic_plan(50) == synthetic_plan(50)  # seeded


def test_scheduling_runs_the_engine_on_small_plans():
    results = by_name(scheduling.run(True, sizes=(20,), target_s={20: 0.2}))
    assert set(results) == {f"scheduling.20_steps.{figure}" for figure in (
        "makespan_over_critical_path", "speedup_over_sequential", "speedup_over_waves",
        "journal_share_of_makespan", "makespan_k_workers_over_lower_bound", "policy_k_workers_over_lower_bound")}
    # no schedule beats its critical path, nor max(critical path, work / k)
    assert results["scheduling.20_steps.makespan_over_critical_path"].value >= 0.99
    # scaled-down critical paths carry no goal for the makespan: the engine's fixed costs weigh more
    assert results["scheduling.20_steps.makespan_over_critical_path"].goal is None
    assert results["scheduling.20_steps.speedup_over_sequential"].goal == "> 1"
    assert results["scheduling.20_steps.makespan_k_workers_over_lower_bound"].value >= 0.99
    assert results["scheduling.20_steps.policy_k_workers_over_lower_bound"].value >= 1
    assert 0 <= results["scheduling.20_steps.journal_share_of_makespan"].value <= 1


@pytest.mark.integration
def test_rehydration_moves_no_payload_through_drctl_server_side_and_twice_the_data_streamed_or_relayed():
    size = 2 * MIB
    results = by_name(rehydration.run(True, total_bytes=size))
    assert results["rehydration.server_side_payload_bytes"].value == 0
    assert results["rehydration.server_side_payload_bytes"].met is True
    assert results["rehydration.streaming_payload_bytes"].value == 2 * size
    assert results["rehydration.copies_in_flight_max"].value >= 1
    assert results["rehydration.server_side_s"].value > 0 and results["rehydration.streaming_s"].value > 0
    assert results["rehydration.relay_payload_over_data"].value == 2 and results["rehydration.relay_payload_over_data"].met
    assert results["rehydration.relay_s"].value > 0


@pytest.mark.integration
def test_validation_from_listings_and_by_hashing_agree():
    results = by_name(validation.run(True, total_bytes=2 * MIB))
    assert set(results) == {"validation.listing_s", "validation.download_and_hash_s", "validation.speedup"}
    assert results["validation.speedup"].value > 0


@pytest.mark.integration
def test_pg_restore_restores_the_same_rows_both_ways():
    results = by_name(pg_restore.run(True, total_bytes=2 * MIB))  # run() checks the row counts
    assert set(results) == {"pg_restore.drctl_s", "pg_restore.single_job_s", "pg_restore.speedup"}
    assert "--jobs=2" in results["pg_restore.drctl_s"].note


@pytest.mark.integration
def test_pg_physical_restores_the_same_rows_as_pg_restore_and_reports_each_figure():
    # run() checks that both restores hold every row; the drill's archive lag is left to the full benchmark
    results = by_name(pg_physical.run(True, total_bytes=2 * MIB, drill=False))
    assert set(results) == {"pg_physical.restore_s", "pg_physical.copy_s", "pg_physical.restore_over_copy",
                            "pg_physical.pg_restore_s", "pg_physical.speedup_over_pg_restore",
                            "pg_physical.base_backup_s", "pg_physical.verify_s"}
    assert results["pg_physical.restore_over_copy"].goal == "<= 1.5"
    assert results["pg_physical.speedup_over_pg_restore"].goal is None  # the goal is for a database of 1 GiB or more
    assert "the goal is for 1 GiB" in results["pg_physical.speedup_over_pg_restore"].note
    assert "WAL" in results["pg_physical.restore_s"].note


@pytest.mark.integration
def test_offline_measures_drctl_against_the_floor_and_the_cache():
    results = by_name(offline.run(True, stack="primary", components=30, warm_runs=1, verbs=("preview", "posture")))
    assert results["offline.preview_cold_s"].value > 0
    assert results["offline.preview_peak_rss_over_floor"].value > 0
    for verb in ("preview", "posture"):
        assert results[f"offline.{verb}_repeated_s"].value > 0
    assert results["offline.floor_peak_rss"].value > 0
    assert results["offline.plan_30_components_s"].value > 0


@pytest.mark.integration
def test_overhead_compares_the_drill_rto_with_its_measured_critical_path():
    results = by_name(overhead.run(True, runs=1))
    rto, work = results["overhead.drill_rto_s"].value, results["overhead.drill_work_s"].value
    assert work > 0 and rto > 0
    assert results["overhead.share_of_rto"].value < 1


@pytest.mark.integration
def test_scale_rehydrates_and_validates_each_size_both_ways_in_a_child_and_compares_copy_rates():
    results = by_name(scale.run(True, sizes=(20, 60, 120)))  # run() checks every copy is exact
    per_way = {"blobs_s", "time_slope_ratio", "drctl_cpu_slope_ratio", "peak_rss_ratio", "rss_bytes_per_blob"}
    assert set(results) == {
        "scale.20_blobs_s", "scale.60_blobs_s", "scale.120_blobs_s", "scale.blobs_time_slope_ratio",
        "scale.drctl_cpu_slope_ratio", "scale.blobs_peak_rss_ratio", "scale.rss_bytes_per_blob",
        *(f"scale.server_copy_{n}_blobs_s" for n in (20, 60, 120)),
        *(f"scale.server_copy_{figure}" for figure in per_way - {"blobs_s"}),
        "scale.copy_issue_rate_over_limit", "scale.benchmark_s"}
    assert all(r.goal is None for r in results.values())  # sizes other than the full ones carry no goal
    assert results["scale.blobs_peak_rss_ratio"].value > 0 and results["scale.copy_issue_rate_over_limit"].value > 0
    assert all(results[f"scale.{way}{n}_blobs_s"].value > 0 for n in (20, 60, 120) for way in ("", "server_copy_"))
    assert "relay" in results["scale.120_blobs_s"].note and "server_copy" in results["scale.server_copy_120_blobs_s"].note


def test_scale_goals_bind_the_default_way_in_time_and_drctl_own_cpu_and_memory_either_way():
    def runs(azurite_us: tuple[int, int, int]) -> dict[int, dict]:
        return {n: {"rehydrate_s": n * us / 1e6, "validate_s": 0.0, "cpu_s": n * 1e-3, "azurite_cpu_s": n * us / 1e6,
                    "peak_rss_bytes": 80 * 2**20 + 40 * n} for n, us in zip(scale.FULL_SIZES, azurite_us, strict=True)}

    relay = by_name(scale.way_figures("relay", runs((3000, 3000, 3000)), goals=True, scope=""))
    server = by_name(scale.way_figures("server_copy", runs((1700, 1700, 2400)), goals=True, scope=""))
    assert relay["scale.blobs_time_slope_ratio"].goal == "<= 1.15" and relay["scale.blobs_time_slope_ratio"].met
    # the server-side copy's time grows as Azurite's CPU per copy does: context, with Azurite's slope beside it
    assert server["scale.server_copy_time_slope_ratio"].value > 1.15 and server["scale.server_copy_time_slope_ratio"].goal is None
    assert "CPU slope ratio: 1.46" in server["scale.server_copy_time_slope_ratio"].note
    for figures, prefix in ((relay, "scale."), (server, "scale.server_copy_")):
        assert figures[f"{prefix}drctl_cpu_slope_ratio"].goal == "<= 1.15" and figures[f"{prefix}drctl_cpu_slope_ratio"].met
        assert figures[f"{prefix}rss_bytes_per_blob"].value == 40 and figures[f"{prefix}rss_bytes_per_blob"].met


def test_the_docs_hold_the_same_table_as_the_output(tmp_path):
    results = [Result("a.ratio", 1.01, "ratio", "<= 1.02"), Result("b.bytes", 0, "bytes", "== 0"),
               Result("c.time", 3.5, "s", None, "context")]
    md, js = write_docs(results, tmp_path, quick=True, elapsed_s=1.0, load_before=[0.1, 0.1, 0.1])
    assert json.loads(js.read_text())["results"] == [
        {"name": "a.ratio", "value": 1.01, "unit": "ratio", "goal": "<= 1.02", "met": True},
        {"name": "b.bytes", "value": 0, "unit": "bytes", "goal": "== 0", "met": True},
        {"name": "c.time", "value": 3.5, "unit": "s", "goal": None, "met": None},
    ]
    assert "\n".join(table(results)) in md.read_text()
