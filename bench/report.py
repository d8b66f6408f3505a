"""The table printed at the end of a run."""

import os

from bench import COLUMNS, TARGETS, Scale


def verdict(key, value):
    if key not in TARGETS or not isinstance(value, (int, float)):
        return "", ""
    op, limit = TARGETS[key]
    ok = value >= limit if op == ">=" else value <= limit
    shown = (
        f"{op} {limit * 100:.0f} %"
        if "ratio" in key
        else (
            f"{op} {limit:g} s"
            if key.endswith("_s")
            else f"{op} {limit:g} ms"
            if key.endswith("_ms")
            else f"{op} {limit:g} MB"
            if key.endswith("_mb")
            else f"{op} {limit:g}x"
        )
    )
    return shown.replace(">=", "≥").replace("<=", "≤"), "PASS" if ok else "MISS"


def report(bench, scale: Scale, load_before, load_after) -> str:
    r = bench.results
    rows_total = scale.files * scale.rows

    def num(key, fmt):
        value = r.get(key)
        return fmt.format(value) if isinstance(value, (int, float)) else "n/a"

    lines = [
        f"Batch Studio benchmark: {scale.files} files x {scale.rows:,} rows x {len(COLUMNS)} float columns "
        f"({rows_total:,} rows), {scale.workers} worker processes, mini_batch_size {scale.mini_batch_size}, "
        f"best of {scale.rounds} round(s)",
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.2f} before, {load_after:.2f} after",
        "",
        f"{'figure':<68} {'value':>24}  {'target':>9}  result",
        f"{'-' * 68} {'-' * 24}  {'-' * 9}  ------",
    ]

    def row(label, value, key=None):
        target, result = verdict(key, r.get(key)) if key else ("", "")
        lines.append(f"{label:<68} {value:>24}  {target:>9}  {result}".rstrip())

    def breakdown(key):
        if f"{key}_mb_task_ms" not in r:
            return
        row(
            "    per mini-batch: scoring / whole task / hand-off to next",
            f"{num(f'{key}_mb_scoring_ms', '{:.0f}')} / {num(f'{key}_mb_task_ms', '{:.0f}')} / "
            f"{num(f'{key}_mb_handoff_ms', '{:.0f}')} ms",
        )
        row(
            "    submit->first mini-batch starts / last part->Completed",
            f"{num(f'{key}_first_start_ms', '{:.0f}')} / {num(f'{key}_finalize_ms', '{:.0f}')} ms",
        )

    for key, name in (("rf", "RandomForest"), ("lr", "LogisticRegression")):
        row(
            f"(a) raw ceiling, {name}: pandas + pyfunc, {scale.workers} processes",
            f"{num(f'raw_{key}_s', '{:.2f} s')} {num(f'raw_{key}_rows_per_s', '{:,.0f} rows/s'):>13}",
        )
        row(
            f"(b) Batch Studio job, {name}: real queue, warm workers",
            f"{num(f'job_{key}_s', '{:.2f} s')} {num(f'job_{key}_rows_per_s', '{:,.0f} rows/s'):>13}",
        )
        row(f"(b)/(a) throughput, {name}", num(f"ratio_{key}", "{:.1%}"), f"ratio_{key}" if key == "rf" else None)
        row(f"(t) tuned ceiling, {name}: pyarrow read + pyfunc + pyarrow write", num(f"tuned_{key}_s", "{:.2f} s"))
        row(f"(b)/(t) throughput, {name}", num(f"tuned_ratio_{key}", "{:.1%}"), f"tuned_ratio_{key}")
        row(f"(f) floor, {name}: predict alone on data in memory", num(f"floor_{key}_s", "{:.2f} s"))
        row(f"(b)/(f) time, {name}", num(f"floor_x_{key}", "{:.2f}x"), f"floor_x_{key}")
        breakdown(key)
    row("(c) mlflow models predict --env-manager local, 1 file (RF)", num("mlflow_predict_s", "{:.2f} s"))
    row("1-file job submit->Completed, warm workers (RF, median)", num("one_file_job_s", "{:.2f} s"), "one_file_job_s")
    row("    min / max", f"{num('one_file_job_min_s', '{:.2f}')} / {num('one_file_job_max_s', '{:.2f}')} s")
    breakdown("one")
    row("(c)/1-file job", num("mlflow_vs_job", "{:.1f}x"))
    row(
        f"per-mini-batch overhead ({scale.tiny_files} tiny files, mini_batch_size 1)",
        num("overhead_ms", "{:.1f} ms"),
        "overhead_ms",
    )
    row(
        "    job / raw ceiling on the same tiny files",
        f"{num('tiny_job_s', '{:.2f}')} / {num('tiny_raw_s', '{:.2f}')} s",
    )
    breakdown("tiny")
    m = scale.memory_factor
    row(
        f"peak RSS, largest worker process, RF job 1x input ({num('memory_1x_job_s', '{:.1f} s')})",
        num("memory_1x_mb", "{:.0f} MB"),
    )
    row(
        f"peak RSS, largest worker process, RF job {m}x input ({num('memory_10x_job_s', '{:.1f} s')})",
        num("memory_10x_mb", "{:.0f} MB"),
    )
    row(f"    growth {m}x / 1x (flat: within 20 %)", num("memory_growth", "{:.2f}x"), "memory_growth")
    row(
        f"peak RSS, whole qcluster tree, 1x / {m}x",
        f"{num('memory_1x_tree_mb', '{:.0f}')} / {num('memory_10x_tree_mb', '{:.0f}')} MB",
    )
    row(f"    growth {m}x / 1x", num("memory_tree_growth", "{:.2f}x"))
    row("largest VmHWM (lifetime peak) in the tree at the end", num("memory_hwm_mb", "{:.0f} MB"))
    row(
        f"peak RSS, largest process, LR job on 1 Parquet file ({scale.parquet_rows:,} rows x 51 columns, "
        f"{num('parquet_file_mb', '{:.0f} MB')}, {num('parquet_job_s', '{:.1f} s')})",
        num("parquet_memory_mb", "{:.0f} MB"),
        "parquet_memory_mb",
    )
    row(
        f"schedule run over {num('schedule_files', '{:.0f}')} files: first (hashes each) / unchanged (lists)",
        f"{num('schedule_first_s', '{:.2f}')} / {num('schedule_unchanged_s', '{:.3f}')} s",
    )
    row("    unchanged run speed-up", num("schedule_speedup", "{:.0f}x"))
    for key, name in (("rf", "RandomForest"), ("lr", "LogisticRegression")):
        row(
            f"large files ({scale.split_files} x {scale.split_rows_per_file:,} rows), {name}: job without split / "
            f"split_rows {num('split_rows', '{:.0f}')}",
            f"{num(f'split_whole_{key}_s', '{:.2f}')} / {num(f'split_job_{key}_s', '{:.2f}')} s",
        )
        row(
            "    (t) tuned ceiling on the same files / split job's mini-batches, workers",
            f"{num(f'split_tuned_{key}_s', '{:.2f} s')} / {num(f'split_{key}_minibatches', '{:.0f}')}, "
            f"{num(f'split_{key}_workers', '{:.0f}')}",
        )
        row(f"    (b split)/(t) throughput, {name}", num(f"split_ratio_{key}", "{:.1%}"), f"split_ratio_{key}")
        row("    without split / with split", num(f"split_speedup_{key}", "{:.2f}x"))
        breakdown(f"split_{key}")
    row(
        f"first job on just-started workers, 1 file (RF, {scale.rows:,} rows): cold / warm start",
        f"{num('first_job_cold_s', '{:.2f}')} / {num('first_job_warm_s', '{:.2f}')} s",
        "first_job_warm_s",
    )
    row("    cold / warm", num("first_job_speedup", "{:.1f}x"))
    breakdown("first_cold")
    breakdown("first_warm")
    row("    warm start: workers up -> the model loaded in every worker", num("warm_up_s", "{:.2f} s"))
    for key, value in r.items():
        if key.startswith("error_"):
            lines.append(f"ERROR {key[6:]}: {value}")
    for note in bench.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
