"""The schedules' REST API: list and create per endpoint; show (with recent runs), run now, enable, disable, delete."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from api.auth import ApiError, api_view, json_body
from endpoints.models import BatchEndpoint
from jobs.schedules.forms import create_schedule
from jobs.schedules.models import Schedule, ScheduleRun
from jobs.schedules.serializers import run_json, schedule_json
from workspace.roles import MANAGE_SCHEDULES, VIEW

CREATE_FIELDS = ("name", "input", "cron", "deployment_name", "description", "output_datastore", "output_path")


def _base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _schedule(name) -> Schedule:
    return get_object_or_404(Schedule.objects.select_related("endpoint", "q_schedule"), name=name)


@api_view("GET", "POST", require={"GET": VIEW, "POST": MANAGE_SCHEDULES})
def endpoint_schedules(request, name):
    endpoint = get_object_or_404(BatchEndpoint.objects.select_related("default_deployment"), name=name)
    if request.method == "GET":
        schedules = endpoint.schedules.select_related("endpoint", "q_schedule")
        return JsonResponse({"value": [schedule_json(s, _base(request)) for s in schedules]})
    body = json_body(request)
    unknown = sorted(set(body) - set(CREATE_FIELDS))
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown fields: {', '.join(unknown)}. Use {', '.join(CREATE_FIELDS)}.")
    if Schedule.objects.filter(name=body.get("name", "")).exists():
        raise ApiError(409, "schedule_exists", f"A schedule named '{body['name']}' already exists.")
    schedule = create_schedule(endpoint, user=request.user, **{k: str(v) for k, v in body.items() if v is not None})
    return JsonResponse(schedule_json(schedule, _base(request)), status=201)


@api_view("GET", "DELETE", require={"GET": VIEW, "DELETE": MANAGE_SCHEDULES})
def schedule_detail(request, schedule):
    schedule = _schedule(schedule)
    if request.method == "DELETE":
        schedule.delete()
        return HttpResponse(status=204)
    return JsonResponse(schedule_json(schedule, _base(request), runs=True))


@api_view("POST", require=MANAGE_SCHEDULES)
def schedule_run(request, schedule):
    run = _schedule(schedule).request_run(ScheduleRun.API)
    return JsonResponse(run_json(run), status=202)


def _set_enabled(request, name, enabled: bool):
    schedule = _schedule(name)
    schedule.set_enabled(enabled)
    return JsonResponse(schedule_json(schedule, _base(request)))


@api_view("POST", require=MANAGE_SCHEDULES)
def schedule_enable(request, schedule):
    return _set_enabled(request, schedule, True)


@api_view("POST", require=MANAGE_SCHEDULES)
def schedule_disable(request, schedule):
    return _set_enabled(request, schedule, False)
