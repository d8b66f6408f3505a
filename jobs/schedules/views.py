from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django_htmx.http import HttpResponseStopPolling

from endpoints.models import BatchEndpoint
from jobs.schedules.forms import ScheduleForm
from jobs.schedules.models import Schedule, ScheduleRun
from studio.views.access import requires
from studio.views.buttons import button_of
from workspace.roles import MANAGE_SCHEDULES, VIEW

HISTORY_SIZE = 50


@requires(VIEW)
def endpoint_schedules(request, name):
    endpoint = get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)
    schedules = endpoint.schedules.select_related("q_schedule")
    return render(request, "schedules/list.html", {"endpoint": endpoint, "schedules": schedules, "tab": "schedules"})


@requires(MANAGE_SCHEDULES)
def schedule_create(request, name):
    endpoint = get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)
    form = ScheduleForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        schedule = form.save(user=request.user)
        messages.success(request, f"Schedule {schedule.name} created: {schedule.recurrence.lower()} (UTC).")
        return redirect(schedule)
    return render(request, "schedules/create.html", {"form": form, "endpoint": endpoint})


@requires(MANAGE_SCHEDULES)
def schedule_edit(request, name):
    schedule = _get(name)
    form = ScheduleForm(request.POST or None, instance=schedule, endpoint=schedule.endpoint)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Schedule {schedule.name} saved: {schedule.recurrence.lower()} (UTC).")
        return redirect(schedule)
    return render(request, "schedules/create.html", {"form": form, "endpoint": schedule.endpoint, "schedule": schedule})


def _get(name):
    return get_object_or_404(Schedule.objects.select_related("endpoint", "q_schedule"), name=name)


@requires(VIEW)
def schedule_detail(request, name):
    schedule = _get(name)
    runs = list(schedule.runs.select_related("job")[:HISTORY_SIZE])
    live = any(run.is_live for run in runs)
    context = {"schedule": schedule, "endpoint": schedule.endpoint, "runs": runs, "live": live}
    if request.htmx and request.htmx.target == "history":
        response = render(request, "schedules/_history.html", context)
        return response if live else HttpResponseStopPolling(response.content)
    return render(request, "schedules/detail.html", context)


@requires(MANAGE_SCHEDULES)
@button_of("schedules:detail", "Run now")
def schedule_run_now(request, name):
    schedule = _get(name)
    schedule.request_run(ScheduleRun.RUN_NOW)
    messages.info(request, f"Run of {schedule.name} queued: it scores the files that are new since the last runs.")
    return redirect(schedule)


@requires(MANAGE_SCHEDULES)
@button_of("schedules:detail", "Enable or Disable")
def schedule_toggle(request, name):
    schedule = _get(name)
    schedule.set_enabled(not schedule.enabled)
    messages.success(request, f"Schedule {schedule.name} {'enabled' if schedule.enabled else 'disabled'}.")
    return redirect(schedule)


@requires(MANAGE_SCHEDULES)
def schedule_delete(request, name):
    schedule = _get(name)
    if request.method == "POST":
        schedule.delete()
        messages.success(request, f"Schedule {name} was deleted. The jobs it started stay listed under Jobs.")
        return redirect("endpoints:schedules", schedule.endpoint.name)
    return render(request, "schedules/delete.html", {"schedule": schedule})
