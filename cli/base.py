"""What the `az ml`-like management commands share: subcommands (Azure's hyphenated names, the underscore ones
too), `-o/--output` and `--query` on every one of them, `--web`, `--yes`, `--no-wait`, errors as CommandError."""

import logging
import os
import webbrowser
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from cli import output, yaml_document
from workspace import roles


def add_output_arguments(parser):
    """Azure's global arguments, on every subcommand."""
    parser.add_argument("-o", "--output", choices=output.FORMATS, default="json", help="Output format (default: json).")
    parser.add_argument("--query", help="JMESPath query string, e.g. status or [].name (see http://jmespath.org/).")


class AzCommand(BaseCommand):
    """A command with `az ml`-style subcommands: each `handle_<action>` method is one, its options added by
    `add_<action>_arguments(parser)`. `list_jobs` is reachable as `list-jobs` (Azure's) and `list_jobs`. `rules`
    names the action (workspace/roles.py) each needs: a command acts as the user STUDIO_USER names, with their role,
    or else as the operator (an Owner)."""

    actions: tuple[str, ...] = ()
    rules: dict[str, str] = {}
    user = roles.OPERATOR
    output_format = "json"
    query = None

    def add_arguments(self, parser):
        names = [action.replace("_", "-") for action in self.actions]
        subparsers = parser.add_subparsers(dest="action", required=True, metavar="{" + ",".join(names) + "}")
        for action, name in zip(self.actions, names):
            aliases = [action] if action != name else []
            sub = subparsers.add_parser(name, aliases=aliases, help=getattr(self, f"handle_{action}").__doc__)
            add_output_arguments(sub)
            getattr(self, f"add_{action}_arguments", lambda p: None)(sub)

    def handle(self, *args, action, **options):
        self.output_format, self.query = options.pop("output", "json"), options.pop("query", None)
        self.user = acting_user()
        action = action.replace("-", "_")
        try:
            roles.require(self.user, self.rules.get(action, "an action without a rule"))
            with showing_builds(self):
                return self.run_action(action, options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except PermissionDenied as exc:
            raise CommandError(f"{self.user}: {exc}") from exc

    @property
    def creator(self):
        """Who the things this command makes are recorded as created by (None: the operator)."""
        return None if self.user is roles.OPERATOR else self.user

    def run_action(self, action: str, options: dict):
        return getattr(self, f"handle_{action}")(**options)

    def emit(self, data):
        """Print a result as Azure's CLI does: --query applied, then the -o format."""
        text = output.render(data, self.output_format, self.query)
        if text:
            self.stdout.write(text, ending="")

    print_json = emit

    def say(self, message: str):
        """A line for people (not a result): on standard error, so that -o/--query output stays parseable."""
        self.stderr.write(message)

    def web(self, path: str):
        """--web: the Studio page's URL (settings.STUDIO_URL), opened where a browser can be."""
        url = settings.STUDIO_URL + path
        self.say(f"Studio: {url}")
        if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
            webbrowser.open(url)
        return url


def add_name_argument(parser, help="The name."):
    parser.add_argument("-n", "--name", required=True, help=help)


def add_web_argument(parser):
    parser.add_argument("--web", "-w", action="store_true", help="Show the Studio page's URL (and open it).")


def add_yes_argument(parser):
    parser.add_argument(
        "-y", "--yes", action="store_true", help="Do not prompt for confirmation (the command never prompts)."
    )


def add_no_wait_argument(parser):
    parser.add_argument(
        "--no-wait", action="store_true", help="Accepted for Azure's scripts: the operation is done when it returns."
    )


def acting_user():
    """The user a command acts as: STUDIO_USER's (active), or the operator who runs manage.py on the server."""
    name = os.environ.get("STUDIO_USER", "").strip()
    if not name:
        return roles.OPERATOR
    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        raise CommandError(f"STUDIO_USER={name}: there is no active user of that name.")
    return user


def add_file_arguments(parser, name_help="The name (overrides the file's)."):
    parser.add_argument("-f", "--file", help="Azure Machine Learning YAML file.")
    parser.add_argument("-n", "--name", help=name_help)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Override a key of the file, e.g. settings.mini_batch_size=20 (repeatable).",
    )


def document(options, **names) -> yaml_document.Document:
    """The YAML document from -f (or an empty one), with --set and the naming options (--name, ...) on top."""
    sets = list(options.get("set") or [])
    if options.get("file"):
        doc = yaml_document.load(options["file"], sets=sets)
    else:
        doc = yaml_document.loads("", source="command line", sets=sets)
    for key, option in names.items():
        if options.get(option) not in (None, ""):
            doc.set(key, options[option])
    return doc


@contextmanager
def showing_builds(command):
    """An environment built while the command runs shows its progress on stderr, line by line (pip's output), as
    `az ml` shows its image build: a build takes minutes, and a silent command looks hung."""
    handler = logging.StreamHandler(command.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("workspace.environments")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def build_environment(command, env):
    """Build an environment that is not built yet: a job cannot start in it before (as `az ml` builds its image)."""
    if env is None or env.state == env.READY:
        return env
    env.build()
    if env.state != env.READY:
        raise CommandError(f"Environment {env.label} failed to build: {env.failure_reason}\n{env.where_the_log_is}")
    return env
