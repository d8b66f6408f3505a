"""`az ml schedule` for Batch Studio's schedules: list|show|create|enable|disable|delete, and run (Run now)."""

from django.core.management.base import CommandError

from cli.base import AzCommand
from endpoints.models import BatchEndpoint
from jobs.schedules.forms import create_schedule
from jobs.schedules.models import Schedule, ScheduleRun
from jobs.schedules.serializers import run_json, schedule_json
from workspace.roles import MANAGE_SCHEDULES, VIEW


def get_schedule(name) -> Schedule:
    schedule = Schedule.objects.select_related("endpoint", "q_schedule").filter(name=name).first()
    if schedule is None:
        raise CommandError(f"There is no schedule named '{name}'.")
    return schedule


def _name(parser):
    parser.add_argument("-n", "--name", required=True)


class Command(AzCommand):
    help = "Schedules: recurring jobs that score only the new files of a datastore folder (like `az ml schedule`)."
    actions = ("list", "show", "create", "enable", "disable", "delete", "run")
    rules = {
        "list": VIEW,
        "show": VIEW,
        **dict.fromkeys(("create", "enable", "disable", "delete", "run"), MANAGE_SCHEDULES),
    }
    add_show_arguments = add_enable_arguments = add_disable_arguments = add_delete_arguments = add_run_arguments = (
        staticmethod(_name)
    )

    def add_list_arguments(self, parser):
        parser.add_argument("-e", "--endpoint-name", help="Only this endpoint's schedules.")

    def add_create_arguments(self, parser):
        parser.add_argument("-n", "--name", required=True)
        parser.add_argument("-e", "--endpoint-name", required=True)
        parser.add_argument("--input", required=True, help="azureml://datastores/<name>/paths/<folder>")
        parser.add_argument("--cron", required=True, help="5 fields, UTC, e.g. '0 2 * * *' (every day at 02:00).")
        parser.add_argument("-d", "--deployment-name", default="", help="Default: the endpoint's default deployment.")
        parser.add_argument("--output-datastore", default="")
        parser.add_argument("--output-path", default="", help="Each run writes to its own folder inside it.")
        parser.add_argument("--description", default="")

    def handle_list(self, endpoint_name=None, **options):
        """List schedules."""
        schedules = Schedule.objects.select_related("endpoint", "q_schedule")
        if endpoint_name:
            schedules = schedules.filter(endpoint__name=endpoint_name)
        self.print_json([schedule_json(s) for s in schedules])

    def handle_show(self, name, **options):
        """Show a schedule and its recent runs."""
        self.print_json(schedule_json(get_schedule(name), runs=True))

    def handle_create(
        self, name, endpoint_name, input, cron, deployment_name, output_datastore, output_path, description, **options
    ):
        """Create a schedule (enabled)."""
        endpoint = BatchEndpoint.objects.filter(name=endpoint_name).first()
        if endpoint is None:
            raise CommandError(f"There is no endpoint named '{endpoint_name}'.")
        schedule = create_schedule(
            endpoint,
            name=name,
            input=input,
            cron=cron,
            deployment_name=deployment_name,
            output_datastore=output_datastore,
            output_path=output_path,
            description=description,
            user=self.creator,
        )
        self.print_json(schedule_json(schedule))

    def handle_enable(self, name, **options):
        """Enable a schedule."""
        schedule = get_schedule(name)
        schedule.set_enabled(True)
        self.print_json(schedule_json(schedule))

    def handle_disable(self, name, **options):
        """Disable a schedule."""
        schedule = get_schedule(name)
        schedule.set_enabled(False)
        self.print_json(schedule_json(schedule))

    def handle_delete(self, name, **options):
        """Delete a schedule (its jobs are kept)."""
        get_schedule(name).delete()
        self.stdout.write(f"Schedule {name} deleted.")

    def handle_run(self, name, **options):
        """Run now: queue a run that scores the files new since the last runs."""
        self.print_json(run_json(get_schedule(name).request_run(ScheduleRun.RUN_NOW)))
