"""Role assignments, like `az role assignment create|delete|list` on a workspace: assign|remove|list."""

import argparse

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from cli.base import AzCommand
from workspace import roles
from workspace.roles import MANAGE_USERS, VIEW


def role_name(text: str) -> str:
    """A role as typed: "Contributor", "contributor", "data-scientist", "Data scientist"."""
    wanted = text.strip().lower().replace("-", " ").replace("_", " ")
    for role in roles.ROLES:
        if role.lower() == wanted:
            return role
    raise argparse.ArgumentTypeError(f"'{text}' is not a role: use one of {', '.join(roles.ROLES)}.")


def get_user(username):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"There is no user named '{username}' (add users in the admin, or with createsuperuser).")
    return user


def assignment(user) -> dict:
    return {"user": user.username, "role": roles.role_of(user) or None, "superuser": user.is_superuser}


class Command(AzCommand):
    help = "Assign, remove and list the users' roles: Owner, Contributor, Data scientist, Reader (docs/SECURITY.md)."
    actions = ("assign", "remove", "list")
    rules = {"assign": MANAGE_USERS, "remove": MANAGE_USERS, "list": VIEW}

    def add_assign_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The user's name.")
        parser.add_argument("--role", required=True, type=role_name, help=", ".join(roles.ROLES) + ".")

    def add_remove_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The user's name.")

    def add_list_arguments(self, parser):
        parser.add_argument("--role", type=role_name, help="Only the users with this role.")

    def handle_assign(self, user, role, **options):
        """Give a user a role (it replaces the role they had)."""
        target = get_user(user)
        roles.assign(target, role)
        self.print_json(assignment(target))

    def handle_remove(self, user, **options):
        """Take a user's role away: they can sign in but see nothing (a superuser stays an Owner)."""
        target = get_user(user)
        roles.unassign(target)
        self.print_json(assignment(target))

    def handle_list(self, role=None, **options):
        """List the users and their roles."""
        found = [assignment(u) for u in get_user_model().objects.order_by("username").prefetch_related("groups")]
        self.print_json([a for a in found if role is None or a["role"] == role])
