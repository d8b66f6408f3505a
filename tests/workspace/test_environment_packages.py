"""An environment is never silently incomplete: a conda file's conda dependencies become pip requirements (the build
log and the page show the mapping) or are refused by line; nothing is ever "Ready" with no package of its own."""

import pytest
from django.core.exceptions import ValidationError

from engine import envbuild
from workspace.environments import Environment, at_line, require_packages, requirements_from_conda

CONDA = """\
name: scoring
channels: [conda-forge]
dependencies:
  - python=3.11
  - pip<=24
  - six=1.16
  - pip:
    - tiny-package==1
"""


@pytest.mark.parametrize(
    "conda,pip",
    [
        ("numpy", "numpy"),
        ("numpy=1.26", "numpy==1.26.*"),
        ("numpy=1.26.*", "numpy==1.26.*"),
        ("numpy=1.26*", "numpy==1.26.*"),
        ("numpy==1.26.4", "numpy==1.26.4"),
        ("numpy>=1.2,<2", "numpy>=1.2,<2"),
        ("numpy >=1.2", "numpy>=1.2"),
        ("scikit-learn=1.5", "scikit-learn==1.5.*"),
        ("pytorch=2.1", "torch==2.1.*"),  # conda's name for the same project
        ("py-xgboost", "xgboost"),
    ],
)
def test_a_plain_conda_package_becomes_its_pip_requirement(conda, pip):
    assert envbuild.conda_to_pip(conda) == pip


@pytest.mark.parametrize(
    "conda,reason",
    [
        ("conda-forge::lightgbm", "asks for conda channel conda-forge"),
        ("numpy=1.26=py39_0", "pins a conda build string"),
        ("numpy 1.26", "conda-only version form"),
        ("numpy[version='>=1.2']", "conda-only version form"),
        ("numpy=1.26|1.27", "conda-only version form"),
        ("numpy=latest", "is not a version pip can read"),
    ],
)
def test_a_conda_dependency_pip_cannot_install_is_refused_saying_why(conda, reason):
    with pytest.raises(ValueError, match=reason):
        envbuild.conda_to_pip(conda)


def test_a_conda_file_comes_to_its_mapped_dependencies_then_its_pip_section():
    packages = envbuild.conda_packages(CONDA)
    assert envbuild.normalise(packages.requirements) == ["six==1.16.*", "tiny-package==1"]
    assert packages.mapped == [("six=1.16", "six==1.16.*")] and packages.python == "=3.11"
    assert envbuild.conda_mappings(packages.requirements) == [("six=1.16", "six==1.16.*")]
    assert envbuild.pip_section(CONDA) == packages.requirements  # what the deployment wizard reads


@pytest.mark.parametrize(
    "text,line,code",
    [
        ("dependencies:\n  - python=3.11\n  - conda-forge::lightgbm\n", 3, "conda_dependency_unsupported"),
        ("name: x\ndependencies:\n  - pip\n\n  - numpy=1.26=py39_0\n", 5, "conda_dependency_unsupported"),
        ("dependencies:\n  - {pip: [six], extra: [x]}\n", 2, "conda_dependency_unsupported"),
        ("dependencies: numpy\n", 1, "invalid_conda_file"),
        ("- numpy\n", None, "invalid_conda_file"),
        ("dependencies: [a\n", None, "invalid_conda_file"),
    ],
)
def test_a_conda_file_error_names_the_file_and_the_line(text, line, code):
    with pytest.raises(ValidationError) as err:
        requirements_from_conda(text, lambda error: at_line("conda.yml", error))
    assert err.value.code == code
    assert err.value.messages[0].startswith(f"conda.yml, line {line}" if line else "conda.yml")


@pytest.mark.parametrize("requirements", ["", "# nothing\n", "python=3.11\n"])
@pytest.mark.django_db
def test_an_environment_with_nothing_to_install_is_refused(requirements):
    with pytest.raises(ValidationError) as err:
        Environment.register("empty", requirements)
    assert err.value.code == "no_packages" and "no container runtime" in err.value.messages[0]
    with pytest.raises(ValidationError):
        require_packages(requirements, "The conda file conda.yml")
    assert not Environment.objects.filter(name="empty").exists()


@pytest.mark.django_db
def test_one_registered_empty_before_never_builds_to_ready():
    env = Environment.objects.create(name="image-only", requirements="")  # as image-only files made them
    env.build()
    env.refresh_from_db()
    assert env.state == Environment.FAILED and "lists no packages to install" in env.failure_reason


@pytest.mark.django_db
def test_the_build_log_and_the_page_show_how_conda_dependencies_were_mapped(signed_in):
    env = Environment.register("from-conda", requirements_from_conda(CONDA.replace("    - tiny-package==1\n", ""), str))
    env.build()
    env.refresh_from_db()
    assert env.state == Environment.READY, env.build_log
    assert "From the conda file: six=1.16 is installed as pip's six==1.16.*" in env.build_log
    page = signed_in.get(env.get_absolute_url()).content.decode()
    assert "<code>six=1.16</code> → <code>six==1.16.*</code>" in page


@pytest.mark.django_db
def test_an_environment_made_empty_before_says_so_on_its_page(signed_in):
    env = Environment.objects.create(name="image-only", requirements="", state=Environment.READY)
    page = signed_in.get(env.get_absolute_url()).content.decode()
    assert "this environment installs no package" in page and "run on the workers' own packages" in page
