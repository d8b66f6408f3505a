"""Who may do what: Azure Machine Learning's roles (Owner, Contributor, Data scientist, Reader) as Django groups.

This module is the one place that decides. Each action below is a Django permission of the `Role` model
(`studio.<action>`); the data migration gives each role's group the actions of RULES. A user's role is their
group's; a superuser is an Owner; a user with no role may do nothing (not even see), as in Azure a person without
a role assignment on the workspace. Pages, API routes and commands ask `can()`/`require()`; tokens act with their
user's role. docs/SECURITY.md, "Roles: who can do what", is this table in prose.
"""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied

OWNER, CONTRIBUTOR, DATA_SCIENTIST, READER = "Owner", "Contributor", "Data scientist", "Reader"
ROLES = (OWNER, CONTRIBUTOR, DATA_SCIENTIST, READER)  # the most to the least

# The actions, as permission codenames (and what the admin shows for each).
VIEW = "view_workspace"
RUN_JOBS = "run_jobs"
REGISTER_ASSETS = "register_assets"
MANAGE_ENDPOINTS = "manage_endpoints"
MANAGE_SCHEDULES = "manage_schedules"
MANAGE_ENVIRONMENTS = "manage_environments"
MANAGE_ANY_JOB = "manage_any_job"
MANAGE_DATASTORES = "manage_datastores"
MANAGE_COMPUTE = "manage_compute"
MANAGE_USERS = "manage_users"

ACTIONS = {
    VIEW: "See endpoints, deployments, jobs, results, logs, data, models, environments, compute; own API tokens",
    RUN_JOBS: "Submit jobs, previews and comparisons; cancel or retry one's own jobs",
    REGISTER_ASSETS: "Register models and datasets",
    MANAGE_ENDPOINTS: "Create, change and delete batch endpoints and deployments",
    MANAGE_SCHEDULES: "Create, change, run, enable, disable and delete schedules",
    MANAGE_ENVIRONMENTS: "Create and build environments",
    MANAGE_ANY_JOB: "Cancel or retry anyone's jobs",
    MANAGE_DATASTORES: "Register, edit (credentials) and delete datastores; set the default",
    MANAGE_COMPUTE: "Create, change and delete compute clusters",
    MANAGE_USERS: "Add users and assign their roles",
}

_SCIENTIST = {VIEW, RUN_JOBS, REGISTER_ASSETS}
_CONTRIBUTOR = _SCIENTIST | {MANAGE_ENDPOINTS, MANAGE_SCHEDULES, MANAGE_ENVIRONMENTS}
RULES: dict[str, frozenset[str]] = {
    OWNER: frozenset(ACTIONS),
    CONTRIBUTOR: frozenset(_CONTRIBUTOR),
    DATA_SCIENTIST: frozenset(_SCIENTIST),
    READER: frozenset({VIEW}),
}
# Django's own permissions an Owner gets besides, so that an Owner (made staff) manages users in the admin.
OWNER_AUTH_PERMISSIONS = ("view_user", "add_user", "change_user", "delete_user", "view_group")


class Role(Group):
    """A role is a group of that name; this proxy carries the actions as permissions and lists the roles in the
    admin."""

    class Meta:
        proxy = True
        default_permissions = ()
        permissions = list(ACTIONS.items())
        verbose_name = "role"


class _Operator:
    """Whoever runs `manage.py` on the server: they hold the database and the secret key, so no role binds them.
    Commands act as the operator unless STUDIO_USER names a user (cli/base.py)."""

    is_authenticated = True
    is_superuser = True
    pk = id = None
    username = "operator"

    def __str__(self):
        return "the operator"


OPERATOR = _Operator()


def role_of(user) -> str:
    """The user's role ("" for none): the highest of their groups; a superuser is an Owner."""
    if user is OPERATOR or (user.is_active and user.is_superuser):
        return OWNER
    if not user.is_authenticated or not user.is_active:
        return ""
    names = {g.name for g in user.groups.all()}
    return next((role for role in ROLES if role in names), "")


def can(user, action: str, obj=None) -> bool:
    """Whether `user` may do `action` (to `obj`: a job for RUN_JOBS is one's own unless MANAGE_ANY_JOB)."""
    if user is OPERATOR:
        return True
    if action not in ACTIONS or not user.is_authenticated or not user.has_perm(f"studio.{action}"):
        return False
    if obj is not None and action == RUN_JOBS:
        return obj.created_by_id == user.pk or user.has_perm(f"studio.{MANAGE_ANY_JOB}")
    return True


def refusal(user, action: str, obj=None) -> str:
    """Why `user` may not do `action`, in a sentence the page, the API and the command show."""
    role = role_of(user)
    if not role:
        return (
            "Your account has no role in this Studio: ask an Owner to assign one "
            "(Reader, Data scientist, Contributor or Owner)."
        )
    if obj is not None and action == RUN_JOBS and user.has_perm(f"studio.{action}"):
        owner = obj.created_by.username if obj.created_by_id else "the operator"
        return f"{obj} was created by {owner}: as {role}, you may cancel or retry only your own jobs."
    allowed = [r for r in ROLES if action in RULES[r]] or [OWNER]
    return f"As {role}, you may not do this: it needs the {' or '.join(allowed)} role ({ACTIONS.get(action, action)})."


def require(user, action: str, obj=None):
    """Raise PermissionDenied (with the reason) unless `user` may do `action`."""
    if not can(user, action, obj):
        raise PermissionDenied(refusal(user, action, obj))


def assign(user, role: str):
    """Give `user` exactly the role `role` (their other roles go; groups that are not roles stay). Staff (the admin)
    follows the Owner role, so that an Owner manages users there; a superuser stays staff."""
    if role not in ROLES:
        raise ValueError(f"Unknown role '{role}': use one of {', '.join(ROLES)}.")
    group = Group.objects.filter(name=role).first()
    if group is None:  # a database emptied since the migration made the roles (a test's flush): make them again
        install(Group, Permission, ContentType)
        group = Group.objects.get(name=role)
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(group)
    _staff(user, role == OWNER)


def unassign(user):
    """Take `user`'s role away: they may sign in and do nothing (a superuser stays an Owner)."""
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    _staff(user, False)


def _staff(user, owner: bool):
    staff = owner or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])


def install(group_model, permission_model, content_type_model):
    """Create the four roles' groups with their permissions (the migration passes its historical models)."""
    role_type, _ = content_type_model.objects.get_or_create(app_label="studio", model="role")
    perms = {}
    for codename, name in ACTIONS.items():
        perms[codename], _ = permission_model.objects.update_or_create(
            content_type=role_type, codename=codename, defaults={"name": name}
        )
    user_type, _ = content_type_model.objects.get_or_create(app_label="auth", model="user")
    group_type, _ = content_type_model.objects.get_or_create(app_label="auth", model="group")
    auth_perms = []
    for codename in OWNER_AUTH_PERMISSIONS:
        verb, _, model = codename.partition("_")
        auth_perms.append(
            permission_model.objects.get_or_create(
                content_type=user_type if model == "user" else group_type,
                codename=codename,
                defaults={"name": f"Can {verb} {model}"},
            )[0]
        )
    for role, actions in RULES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set([perms[a] for a in actions] + (auth_perms if role == OWNER else []))
