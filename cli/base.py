"""What the `az ml`-like management commands share: subcommands, JSON output, errors as CommandError."""

import json
import logging
import os
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from cli import azure_yaml
from workspace import roles


class AzCommand(BaseCommand):
    """A command with `az ml`-style subcommands: each `handle_<action>` method is one, its options added by
    `add_<action>_arguments(parser)`. `rules` names the action (workspace/roles.py) each needs: a command acts as
    the user STUDIO_USER names, with their role, or else as the operator (an Owner)."""

    actions: tuple[str, ...] = ()
    rules: dict[str, str] = {}
    user = roles.OPERATOR

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="action", required=True, metavar="{" + ",".join(self.actions) + "}")
        for action in self.actions:
            sub = subparsers.add_parser(action, help=getattr(self, f"handle_{action}").__doc__)
            getattr(self, f"add_{action}_arguments", lambda p: None)(sub)

    def handle(self, *args, action, **options):
        self.user = acting_user()
        try:
            roles.require(self.user, self.rules.get(action, "an action without a rule"))
            with showing_builds(self):
                return getattr(self, f"handle_{action}")(**options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except PermissionDenied as exc:
            raise CommandError(f"{self.user}: {exc}") from exc

    @property
    def creator(self):
        """Who the things this command makes are recorded as created by (None: the operator)."""
        return None if self.user is roles.OPERATOR else self.user

    def print_json(self, data):
        self.stdout.write(json.dumps(data, indent=2, default=str))


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


def document(options, **names) -> azure_yaml.Document:
    """The YAML document from -f (or an empty one), with --set and the naming options (--name, ...) on top."""
    sets = list(options.get("set") or [])
    if options.get("file"):
        doc = azure_yaml.load(options["file"], sets=sets)
    else:
        doc = azure_yaml.loads("", source="command line", sets=sets)
    for key, option in names.items():
        if options.get(option):
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
