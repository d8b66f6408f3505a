"""Schedules and their runs as JSON: the API's answers and the command line's output."""

RECENT_RUNS = 20


def _iso(value):
    return value.isoformat() if value else None


def run_json(run) -> dict:
    return {
        "id": run.pk,
        "time": _iso(run.started),
        "trigger": run.trigger,
        "status": run.status,
        "message": run.message,
        "files_found": run.files_found,
        "files_new": run.files_new,
        "files": sorted(run.files),
        "job_name": run.job_name or None,
    }


def schedule_json(schedule, base: str = "", runs: bool = False) -> dict:
    last = schedule.last
    data = {
        "name": schedule.name,
        "description": schedule.description,
        "endpoint_name": schedule.endpoint.name,
        "deployment_name": schedule.deployment_name or None,
        "input": {"uri": schedule.input_uri},
        "output": {"datastore": schedule.output_datastore, "path": schedule.output_path}
        if schedule.output_path
        else None,
        "cron": schedule.cron,
        "recurrence": schedule.recurrence,
        "enabled": schedule.enabled,
        "next_run": _iso(schedule.next_run),
        "last_run": _iso(schedule.last_run),
        "last_status": last.status if last else None,
        "studio_url": base.rstrip("/") + schedule.get_absolute_url(),
    }
    if runs:
        data["runs"] = [run_json(r) for r in schedule.runs.select_related("job")[:RECENT_RUNS]]
    return data
